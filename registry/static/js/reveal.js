// A revealed secret: masked until Show is pressed, with Show/Hide and Copy controls, and
// gone for good after 60 seconds. Copying is reported to the server for the audit trail.
for (const box of document.querySelectorAll('[data-reveal]')) {
  const value = box.querySelector('.app-secret__value')
  const masked = box.querySelector('.app-secret__masked')
  const controls = box.querySelector('.app-secret__controls')
  const status = box.querySelector('.app-secret__status')
  const toggle = box.querySelector('[data-action="toggle"]')
  const copy = box.querySelector('[data-action="copy"]')
  controls.hidden = false
  // Masked until asked for: someone may be looking over your shoulder.
  value.hidden = true
  masked.hidden = false
  toggle.textContent = 'Show'
  toggle.setAttribute('aria-expanded', 'false')

  toggle.addEventListener('click', () => {
    const showing = !value.hidden
    value.hidden = showing
    masked.hidden = !showing
    toggle.textContent = showing ? 'Show' : 'Hide'
    toggle.setAttribute('aria-expanded', String(!showing))
  })

  copy.addEventListener('click', async () => {
    try {
      await navigator.clipboard.writeText(value.textContent)
      status.textContent = 'Copied. Paste it where it is needed, then clear your clipboard.'
    } catch {
      status.textContent = 'Your browser did not allow copying: select the text instead.'
      return
    }
    const body = new URLSearchParams({ version: box.dataset.version })
    await fetch(box.dataset.copiedUrl, {
      method: 'POST',
      headers: { 'X-CSRFToken': box.dataset.csrf },
      body,
      credentials: 'same-origin'
    })
  })

  window.setTimeout(() => {
    value.remove()
    masked.hidden = true
    controls.remove()
    status.textContent = 'Hidden after 60 seconds. Reveal it again if you still need it.'
  }, Number(box.dataset.seconds) * 1000)
}
