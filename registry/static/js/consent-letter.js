// The consent letter's "Print this letter" button (no inline scripts under the CSP).
for (const button of document.querySelectorAll('[data-print-letter]')) {
  button.addEventListener('click', () => window.print())
}
