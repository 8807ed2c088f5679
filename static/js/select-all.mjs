// "Select all on this page" for tables of checkboxes (the review queue).
//
// Without JavaScript the control is a link that reloads the page with every box ticked
// (?select=page). With it, the link ticks (or clears) the boxes named by its
// data-select-all attribute in place, says what it did in a polite live region, and its
// text turns to "Clear the selection" while every box is ticked.

function enhance (link) {
  const name = link.dataset.selectAll
  const form = document.getElementById(link.dataset.form)
  if (!form || link.dataset.enhanced) return
  link.dataset.enhanced = 'true'
  const boxes = () => [...form.querySelectorAll(`input[type="checkbox"][name="${name}"]`)]
  const status = document.createElement('span')
  status.className = 'nhsuk-u-visually-hidden'
  status.setAttribute('aria-live', 'polite')
  link.after(status)
  const selectText = link.textContent
  const refresh = () => {
    const all = boxes()
    link.textContent = all.length && all.every(box => box.checked) ? 'Clear the selection' : selectText
  }
  link.setAttribute('role', 'button')
  link.addEventListener('click', event => {
    event.preventDefault()
    const all = boxes()
    const tick = !all.every(box => box.checked)
    all.forEach(box => { box.checked = tick })
    status.textContent = tick ? `${all.length} selected` : 'Selection cleared'
    refresh()
  })
  link.addEventListener('keydown', event => {
    if (event.key === ' ') { event.preventDefault(); link.click() }
  })
  form.addEventListener('change', refresh)
  refresh()
}

export function initSelectAll (root = document) {
  root.querySelectorAll('a[data-select-all]').forEach(enhance)
}
