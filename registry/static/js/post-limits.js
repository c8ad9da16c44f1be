// A promotional post's length against the limit of each chosen channel's platform, as it is typed.
// The page works without this: it lists the limits, and the server refuses a post that is too long.
const group = document.querySelector('[data-post-limits]')

if (group) {
  const textarea = group.querySelector('textarea')
  const counts = group.querySelector('[data-post-limits-counts]')
  const live = group.querySelector('[data-post-limits-live]')
  const form = textarea.form
  const textMax = Number(group.dataset.textMax)
  const hadError = textarea.classList.contains('nhsuk-textarea--error')
  let announce

  // As the server counts: characters (not UTF-16 units), line breaks as one, without surrounding spaces.
  const length = () => [...textarea.value.trim()].length
  const plural = (n, word) => `${n.toLocaleString('en-GB')} ${word}${n === 1 ? '' : 's'}`

  function chosenLimits () {
    const limits = new Map()
    for (const box of form.querySelectorAll('input[name="channels"]:checked')) {
      const label = box.dataset.platformLabel
      const limit = box.dataset.limit ? Number(box.dataset.limit) : textMax
      limits.set(label, Math.min(limit, limits.get(label) ?? limit))
    }
    return [...limits].sort((a, b) => a[1] - b[1] || a[0].localeCompare(b[0]))
  }

  function line (label, limit, typed) {
    const item = document.createElement('li')
    const left = limit - typed
    item.className = left < 0 ? 'nhsuk-error-message nhsuk-u-margin-bottom-1' : 'nhsuk-hint nhsuk-u-margin-bottom-1'
    item.textContent = left < 0
      ? `${label}: you have ${plural(-left, 'character')} too many`
      : `${label}: you have ${plural(left, 'character')} remaining`
    return item
  }

  function update () {
    const typed = length()
    const limits = chosenLimits()
    const items = limits.length
      ? limits.map(([label, limit]) => line(label, limit, typed))
      : [Object.assign(document.createElement('li'), {
          className: 'nhsuk-hint nhsuk-u-margin-bottom-1',
          textContent: `${plural(typed, 'character')}. Choose channels below to see their limits.`
        })]
    counts.replaceChildren(...items)
    counts.hidden = false
    const over = limits.some(([, limit]) => typed > limit)
    textarea.classList.toggle('nhsuk-textarea--error', over || hadError)
    // Screen readers hear the strictest limit once typing pauses, as the NHS character count does.
    window.clearTimeout(announce)
    announce = window.setTimeout(() => { live.textContent = items[0].textContent }, 1000)
  }

  textarea.addEventListener('input', update)
  form.addEventListener('change', (event) => {
    if (event.target.name === 'channels') update()
  })
  update()
}
