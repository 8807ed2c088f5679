// A filter box and a "chosen" summary for long lists of checkboxes (issue 19: the action form
// had 41 partner and 50 dependency checkboxes, ~11,500 px tall on a phone).
//
// Progressive enhancement of NHS.UK checkboxes marked by londonmh/jinja2.py form_field(...,
// filterable=True): without JavaScript the list is the plain NHS.UK one, chosen items first.
// With it, the list scrolls in a box of its own, a labelled search box above narrows it as you
// type (every word must match), and a summary names what is chosen. The counts are announced
// politely to screen readers; the checkboxes themselves are untouched, so keyboard use, the
// form post and the error summary's links work as before.
//
// The libraries that do this (Choices.js, Tom Select) replace a <select multiple>, which
// without JavaScript is a control people struggle with; GOV.UK's accessible-autocomplete
// chooses one value only. Hence this small script.

const MIN_ITEMS = 8 // shorter lists are left alone

function words (text) {
  return text.toLowerCase().split(/\s+/).filter(Boolean)
}

function enhance (group) {
  const list = group.querySelector('.nhsuk-checkboxes')
  const items = [...group.querySelectorAll('.nhsuk-checkboxes__item')]
  if (!list || items.length < MIN_ITEMS || group.dataset.enhanced) return
  group.dataset.enhanced = 'true'
  const noun = group.dataset.noun || 'options'
  const base = items[0].querySelector('input').id
  const entries = items.map(item => {
    const input = item.querySelector('input')
    const label = item.querySelector('label')
    const text = label ? label.textContent.trim() : input.value
    return { item, input, text, haystack: text.toLowerCase() }
  })

  const search = document.createElement('div')
  search.className = 'lmh-choice-filter__search'
  const label = document.createElement('label')
  label.className = 'nhsuk-label'
  label.htmlFor = `${base}-filter`
  label.textContent = `Filter ${noun}`
  const input = document.createElement('input')
  input.className = 'nhsuk-input'
  input.id = `${base}-filter`
  input.type = 'search'
  input.autocomplete = 'off'
  input.spellcheck = false
  list.id = list.id || `${base}-list`
  input.setAttribute('aria-controls', list.id)
  input.setAttribute('aria-describedby', `${base}-shown`)
  const shown = document.createElement('p')
  shown.className = 'nhsuk-body-s lmh-muted lmh-choice-filter__shown'
  shown.id = `${base}-shown`
  shown.setAttribute('aria-live', 'polite')
  search.append(label, input, shown)

  const chosen = document.createElement('p')
  chosen.className = 'nhsuk-body-s lmh-choice-filter__chosen'
  chosen.id = `${base}-chosen`
  chosen.setAttribute('aria-live', 'polite')

  list.before(chosen, search)
  list.classList.add('lmh-choice-filter__list')

  function filter () {
    const wanted = words(input.value)
    let count = 0
    for (const entry of entries) {
      const match = wanted.every(word => entry.haystack.includes(word))
      entry.item.hidden = !match
      if (match) count++
    }
    shown.textContent = wanted.length
      ? (count ? `Showing ${count} of ${entries.length} ${noun}` : `No ${noun} match “${input.value.trim()}”`)
      : `${entries.length} ${noun}`
  }

  function summarise () {
    const names = entries.filter(entry => entry.input.checked).map(entry => entry.text)
    chosen.textContent = names.length ? `${names.length} chosen: ${names.join('; ')}` : 'None chosen'
  }

  input.addEventListener('input', filter)
  input.addEventListener('keydown', event => {
    // Enter in the filter box filters; it must not submit the whole form.
    if (event.key === 'Enter') event.preventDefault()
  })
  list.addEventListener('change', summarise)
  filter()
  summarise()
}

export function initChoiceFilters (scope = document) {
  scope.querySelectorAll('[data-module="lmh-choice-filter"]').forEach(enhance)
}
