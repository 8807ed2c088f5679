// Start the NHS.UK frontend components (header menu, error summary focus, ...).
import { initAll } from '../vendor/nhsuk-frontend/nhsuk-frontend.min.js'
import { initChoiceFilters } from './choice-filter.mjs'
import { initSelectAll } from './select-all.mjs'

initAll()
initChoiceFilters()
initSelectAll()
