// Start the NHS.UK frontend components (menus, error summaries, buttons…).
import { initAll } from '../nhsuk/nhsuk-frontend.min.js'

initAll()
