// Start the NHS.UK frontend components (menus, error summaries, buttons…), then patch the faults in
// their scripts that nhsuk-workarounds.js describes.
import { initAll } from '../nhsuk/nhsuk-frontend.min.js'
import { applyWorkarounds } from './nhsuk-workarounds.js'

initAll()
applyWorkarounds()
