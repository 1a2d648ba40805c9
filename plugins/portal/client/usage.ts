import type { UserUsage } from '@parley/core/wire'
import { element, role, showError, text } from './dom.js'
import { ApiError, sessionJson } from './session.js'

/*
 * The usage page: the signed-in user's own calls and tokens (GET /api/usage/me) over 7, 30 or
 * 90 days: totals, a bar per day (calls or tokens), every day as a table, and each model.
 * Bar heights are set through the CSSOM (`style.height`), which the CSP allows.
 */

type Metric = 'tokens' | 'calls'

export async function startUsage(root: HTMLElement): Promise<void> {
  const days = role<HTMLSelectElement>(root, 'days')
  const error = role(root, 'error')
  const metrics = [...root.querySelectorAll<HTMLInputElement>('[data-role="metric"]')]
  const number = new Intl.NumberFormat(document.documentElement.lang || undefined)
  let usage: UserUsage | undefined

  const metric = (): Metric => (metrics.find(input => input.checked)?.value === 'calls' ? 'calls' : 'tokens')
  const draw = () => {
    if (!usage) return
    const current = usage
    role(root, 'range').textContent = text('usage_range', {
      from: current.from,
      to: current.to,
      zone: current.time_zone,
    })
    role(root, 'total-calls').textContent = number.format(current.totals.calls)
    role(root, 'total-prompt').textContent = number.format(current.totals.prompt_tokens)
    role(root, 'total-completion').textContent = number.format(current.totals.completion_tokens)
    drawChart(role(root, 'chart'), current, metric(), number)
    role(root, 'daily').replaceChildren(
      ...[...current.daily]
        .reverse()
        .map(day => row([day.date, day.calls, day.prompt_tokens, day.completion_tokens], number)),
    )
    const models = role(root, 'models')
    models.replaceChildren(
      ...current.models.map(model =>
        row([model.model, model.calls, model.prompt_tokens, model.completion_tokens], number),
      ),
    )
    if (current.models.length === 0) {
      const empty = element('tr')
      empty.append(element('td', { className: 'portal-empty', text: text('usage_none'), attributes: { colspan: '4' } }))
      models.append(empty)
    }
  }
  const load = async () => {
    root.dataset.loading = 'true'
    showError(error, '')
    try {
      usage = await sessionJson<UserUsage>('GET', `/api/usage/me?days=${encodeURIComponent(days.value)}`)
      draw()
    } catch (failure) {
      if (failure instanceof ApiError && failure.status === 401) throw failure
      showError(error, failure instanceof ApiError ? failure.message : String(failure))
    } finally {
      delete root.dataset.loading
    }
  }
  days.addEventListener('change', () => void load())
  for (const input of metrics) input.addEventListener('change', draw)
  await load()
  root.dataset.ready = 'true'
}

function row(cells: ReadonlyArray<string | number>, number: Intl.NumberFormat): HTMLTableRowElement {
  const tr = element('tr')
  cells.forEach((cell, index) =>
    tr.append(
      element(index === 0 ? 'th' : 'td', {
        className: index === 0 ? '' : 'num',
        text: typeof cell === 'number' ? number.format(cell) : cell,
        ...(index === 0 ? { attributes: { scope: 'row' } } : {}),
      }),
    ),
  )
  return tr
}

/** One bar per day, scaled to the busiest day; each bar's title and the chart's label say the numbers. */
function drawChart(chart: HTMLElement, usage: UserUsage, metric: Metric, number: Intl.NumberFormat): void {
  const values = usage.daily.map(day => (metric === 'calls' ? day.calls : day.prompt_tokens + day.completion_tokens))
  const max = Math.max(0, ...values)
  const total = values.reduce((sum, value) => sum + value, 0)
  const name = metric === 'calls' ? text('usage_calls') : text('usage_tokens')
  chart.setAttribute(
    'aria-label',
    text('chart_label', {
      metric: name,
      from: usage.from,
      to: usage.to,
      total: number.format(total),
      max: number.format(max),
    }),
  )
  chart.dataset.metric = metric
  chart.classList.toggle('usage-chart-dense', usage.days > 31)
  const bars = usage.daily.map((day, index) => {
    const value = values[index] ?? 0
    const bar = element('div', {
      className: 'usage-bar',
      attributes: { title: text('bar', { date: day.date, value: `${number.format(value)} ${name}` }) },
    })
    bar.dataset.date = day.date
    bar.dataset.value = String(value)
    const fill = element('span', { className: 'usage-bar-fill' })
    // A day with any use shows at least a sliver.
    fill.style.height = max === 0 ? '0' : `${Math.max(value > 0 ? 2 : 0, (value / max) * 100)}%`
    bar.append(fill)
    return bar
  })
  const axis = element('div', { className: 'usage-axis', attributes: { 'aria-hidden': 'true' } })
  axis.append(element('span', { text: usage.from }), element('span', { text: usage.to }))
  const plot = element('div', { className: 'usage-plot' })
  plot.append(...bars)
  const scale = element('div', {
    className: 'usage-scale',
    text: text('chart_max', { max: number.format(max) }),
    attributes: { 'aria-hidden': 'true' },
  })
  chart.replaceChildren(scale, plot, axis)
}
