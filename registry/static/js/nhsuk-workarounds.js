// Work-arounds for three faults in NHS.UK frontend 10.6.1's scripts, applied after initAll() in app.js.
// Remove each one when the nhsuk-frontend version that fixes it is installed.

// 1. Conditional radios. nhsuk-frontend's radios script (toggleConditionalInput) sets aria-expanded on
// the <input type="radio"> that reveals a conditional question, on start and after every click. ARIA
// does not allow aria-expanded on the radio role (axe: aria-allowed-attr, WCAG 4.1.2), and screen
// readers announce it oddly ("collapsed radio button"). GOV.UK Frontend, which the component comes
// from, dropped the attribute for the same reason. The reveal stays accessible without it: the input
// keeps aria-controls, and the revealed question comes straight after its radio in the page, so it is
// the next thing a keyboard or screen reader user reaches. An observer takes the attribute off
// whenever the nhsuk script puts it back, whatever event made it do so.
function withoutExpandedRadios () {
  const strip = (root) => {
    for (const radio of root.querySelectorAll('input[type="radio"][aria-expanded]')) {
      radio.removeAttribute('aria-expanded')
    }
  }
  strip(document)
  new MutationObserver((changes) => {
    for (const change of changes) {
      const target = change.target
      if (target instanceof HTMLInputElement && target.type === 'radio' && target.hasAttribute('aria-expanded')) {
        target.removeAttribute('aria-expanded')
      }
    }
  }).observe(document.body, { subtree: true, attributes: true, attributeFilter: ['aria-expanded'] })
}

// 2. Enhanced file upload. nhsuk-frontend's file upload script replaces the file input with a button
// named by aria-labelledby="<label> <comma> <button>", so its accessible name is the field's label, then
// the status ("No file chosen", or the file's name), then "Choose file or drop file". Its visible text
// has the status and "Choose file" as adjacent elements with only a visually hidden comma between them,
// so the text a person sees reads "No file chosenChoose file": run together, it is not part of the
// accessible name (axe: label-content-name-mismatch, WCAG 2.5.3 label in name), and speech-input users
// saying the words they see cannot operate the button. A plain space after the status separates the
// words for everyone (and when CSS is off) without changing the button's behaviour, its name for
// screen readers or its keyboard use; the status keeps its own live region.
function spacedFileUploadStatus () {
  for (const status of document.querySelectorAll('.nhsuk-file-upload__drop-button > .nhsuk-file-upload__status')) {
    const next = status.nextSibling
    if (!(next && next.nodeType === Node.TEXT_NODE && next.textContent === ' ')) {
      status.after(document.createTextNode(' '))
    }
  }
}

// 3. The header's "More" menu closes on Escape but leaves focus on the link it has just hidden, so focus
// falls to the page (WCAG 2.4.3 Focus Order): send it back to the toggle. This runs (capturing) before
// the header's own handler, added when the menu opens, while the menu is still open.
function focusBackFromClosedMenu () {
  document.addEventListener(
    'keydown',
    (event) => {
      const toggle = document.querySelector('.nhsuk-header__menu-toggle')
      if (event.key !== 'Escape' || !toggle || toggle.getAttribute('aria-expanded') !== 'true') return
      if (toggle.closest('.nhsuk-header__menu').contains(document.activeElement)) toggle.focus()
    },
    true
  )
}

export function applyWorkarounds () {
  withoutExpandedRadios()
  spacedFileUploadStatus()
  focusBackFromClosedMenu()
}
