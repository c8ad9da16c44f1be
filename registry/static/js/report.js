// The monthly report's "Print this report" button (no inline scripts under the CSP), and every
// "How the figures are counted" note opened for printing, so the paper copy has it too.
for (const button of document.querySelectorAll('[data-print-report]')) {
  button.addEventListener('click', () => window.print())
}
window.addEventListener('beforeprint', () => {
  for (const details of document.querySelectorAll('main details')) {
    details.open = true
  }
})
