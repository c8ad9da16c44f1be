// Start the NHS.UK frontend components (menus, error summaries, buttons…).
import { initAll } from '../nhsuk/nhsuk-frontend.min.js'

initAll()

// NHS.UK frontend 10.6's header closes its "More" menu on Escape but leaves focus on the link it has
// just hidden, so focus falls to the page (WCAG 2.4.3 Focus Order): send it back to the toggle. This
// runs before the header's own handler (added when the menu opens), while the menu is still open.
document.addEventListener(
  'keydown',
  (event) => {
    const toggle = document.querySelector('.nhsuk-header__menu-toggle')
    if (event.key !== 'Escape' || !toggle || toggle.getAttribute('aria-expanded') !== 'true') return
    if (toggle.closest('.nhsuk-header__menu').contains(document.activeElement)) toggle.focus()
  },
  true
)
