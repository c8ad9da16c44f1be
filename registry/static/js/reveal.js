// A revealed secret: masked until Show is pressed, with Show/Hide and Copy controls, and
// gone for good after 60 seconds. Copying is reported to the server for the audit trail; a box with
// no Copy button (an emergency reveal, which has no copy report) just shows, hides and times out.
// Before it goes (data-warn-seconds before, 20 by default) the status region says so and offers
// "Keep showing for another 60 seconds" (WCAG 2.2.1 Timing Adjustable), as often as wanted up to
// data-max-seconds (600 by default) after the page opened; all without asking the server again.
const SECOND = 1000
for (const box of document.querySelectorAll('[data-reveal]')) {
  const value = box.querySelector('.app-secret__value')
  const masked = box.querySelector('.app-secret__masked')
  const controls = box.querySelector('.app-secret__controls')
  const status = box.querySelector('.app-secret__status')
  const toggle = box.querySelector('[data-action="toggle"]')
  const copy = box.querySelector('[data-action="copy"]')
  const keep = box.querySelector('[data-action="keep"]')
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

  copy?.addEventListener('click', async () => {
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

  const seconds = Number(box.dataset.seconds)
  const warning = Number(box.dataset.warnSeconds || 20)
  const opened = Date.now()
  const latest = opened + Number(box.dataset.maxSeconds || 600) * SECOND
  let deadline = Date.now() + seconds * SECOND
  let timer

  const hide = () => {
    value.remove()
    masked.hidden = true
    controls.remove()
    const after = Math.round((Date.now() - opened) / SECOND)
    status.textContent = `Hidden after ${after} seconds. Reveal it again if you still need it.`
  }

  const warn = () => {
    timer = window.setTimeout(hide, deadline - Date.now())
    const canKeep = deadline < latest && keep !== null
    if (keep) keep.hidden = !canKeep
    const left = Math.round((deadline - Date.now()) / SECOND)
    status.textContent = canKeep
      ? `It will be hidden in ${left} seconds. To keep it on screen, press “Keep showing for another ${seconds} seconds”.`
      : `It will be hidden in ${left} seconds. It has been on screen for as long as it can be: reveal it again if you still need it.`
  }

  const schedule = () => {
    window.clearTimeout(timer)
    timer = window.setTimeout(warn, Math.max(0, deadline - Date.now() - warning * SECOND))
  }

  // The hiding is scheduled before anything else can fail: a secret must never stay on screen.
  schedule()

  keep?.addEventListener('click', () => {
    deadline = Math.min(Date.now() + seconds * SECOND, latest)
    const left = Math.round((deadline - Date.now()) / SECOND)
    status.textContent = `It will stay on screen for another ${left} seconds.`
    if (deadline >= latest) {
      toggle.focus() // the button goes: focus must not fall to the page
      keep.hidden = true
    }
    schedule()
  })
}
