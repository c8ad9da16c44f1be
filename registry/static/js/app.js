// Start the NHS.UK frontend components (menus, error summaries, buttons…), then patch the faults in
// their scripts that nhsuk-workarounds.js describes, and keep scroll regions' tab stops where they scroll.
import { initAll } from '../nhsuk/nhsuk-frontend.min.js'
import { applyWorkarounds } from './nhsuk-workarounds.js'
import { tabStopsOnlyWhereScrolling } from './scroll-regions.js'

initAll()
applyWorkarounds()
tabStopsOnlyWhereScrolling()
