// A table or chart too wide for the screen sits in a region that scrolls sideways; a keyboard user
// reaches it with Tab to scroll it (WCAG 2.1.1), so the page ships it with tabindex="0". Where it
// fits, that stop leads nowhere: take it out, and put it back when the region overflows again (a
// narrower window, zoom, a bigger font). Without this script every region keeps its stop.
export function tabStopsOnlyWhereScrolling (root = document) {
  const selector = '.app-table-scroll[tabindex], .app-chart-scroll[tabindex]'
  const regions = root.querySelectorAll(selector)
  const update = (region) => {
    if (region.scrollWidth > region.clientWidth + 1 || region.scrollHeight > region.clientHeight + 1) {
      region.setAttribute('tabindex', '0')
    } else if (document.activeElement !== region) {
      region.removeAttribute('tabindex')
    }
  }
  const observer = new ResizeObserver((entries) => {
    for (const entry of entries) update(entry.target.closest('.app-table-scroll, .app-chart-scroll'))
  })
  for (const region of regions) {
    update(region)
    observer.observe(region)
    // The table inside can grow without the region changing size (fonts arriving, a chart drawn).
    if (region.firstElementChild) observer.observe(region.firstElementChild)
  }
}
