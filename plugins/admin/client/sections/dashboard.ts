import {
  ArcElement,
  CategoryScale,
  Chart,
  DoughnutController,
  Legend,
  LinearScale,
  LineController,
  LineElement,
  PointElement,
  Tooltip,
} from 'chart.js'
import type { UsageStats as Stats } from '@parley/core/wire'
import { api } from '../api.js'
import { h } from '../dom.js'
import { t } from '../i18n.js'
import { header, render } from '../ui.js'

// Only what the two charts use, so the bundle carries no more of Chart.js than that.
Chart.register(
  DoughnutController,
  ArcElement,
  LineController,
  LineElement,
  PointElement,
  CategoryScale,
  LinearScale,
  Tooltip,
  Legend,
)

const PALETTE = ['#3b6cf6', '#12a36b', '#e0882b', '#c2416b', '#7b5cd6', '#2aa5b8', '#8a8f99', '#d4b21f']

function card(label: string, value: number, role: string): HTMLElement {
  return h(
    'div',
    { class: 'admin-stat', 'data-stat': role },
    h('span', { class: 'admin-stat-label' }, label),
    h('strong', { class: 'admin-stat-value' }, value.toLocaleString(document.documentElement.lang || undefined)),
  )
}

function cssVariable(name: string, fallback: string): string {
  return getComputedStyle(document.documentElement).getPropertyValue(name).trim() || fallback
}

/** Calls today, this week and month, tokens, active users; model share and the last 7 days. */
export function dashboardSection(root: HTMLElement): void {
  void render(root, async () => {
    const stats = await api<Stats>('GET', '/api/admin/stats')
    const pie = h('canvas', { 'data-chart': 'models', role: 'img', 'aria-label': t('dashboard.models_chart') })
    const line = h('canvas', { 'data-chart': 'daily', role: 'img', 'aria-label': t('dashboard.daily_chart') })
    const view = h(
      'div',
      {},
      header(t('dashboard.title')),
      h('p', { class: 'admin-muted' }, t('dashboard.time_zone', { zone: stats.time_zone })),
      h(
        'div',
        { class: 'admin-stats' },
        card(t('dashboard.calls_today'), stats.calls.today, 'today'),
        card(t('dashboard.calls_week'), stats.calls.week, 'week'),
        card(t('dashboard.calls_month'), stats.calls.month, 'month'),
        card(t('dashboard.prompt_tokens'), stats.tokens.prompt, 'prompt_tokens'),
        card(t('dashboard.completion_tokens'), stats.tokens.completion, 'completion_tokens'),
        card(t('dashboard.active_users'), stats.active_users, 'active_users'),
      ),
      h(
        'div',
        { class: 'admin-charts' },
        h(
          'figure',
          { class: 'admin-chart' },
          h('figcaption', {}, t('dashboard.models_chart')),
          h('div', { class: 'admin-chart-box' }, pie),
          stats.models.length ? null : h('p', { class: 'admin-muted' }, t('dashboard.no_calls')),
        ),
        h(
          'figure',
          { class: 'admin-chart' },
          h('figcaption', {}, t('dashboard.daily_chart')),
          h('div', { class: 'admin-chart-box' }, line),
        ),
      ),
    )
    // Drawn once the canvases are in the page, so Chart.js can measure them.
    requestAnimationFrame(() => {
      const text = cssVariable('--fg', '#1c1d21')
      const grid = cssVariable('--border', '#e4e5e9')
      Chart.defaults.color = text
      new Chart(pie, {
        type: 'doughnut',
        data: {
          labels: stats.models.map(m => m.model),
          datasets: [
            {
              data: stats.models.map(m => m.calls),
              backgroundColor: stats.models.map((_, i) => PALETTE[i % PALETTE.length] ?? '#888'),
            },
          ],
        },
        options: { animation: false, maintainAspectRatio: false, plugins: { legend: { position: 'bottom' } } },
      })
      new Chart(line, {
        type: 'line',
        data: {
          labels: stats.daily.map(d => d.date.slice(5)),
          datasets: [
            {
              label: t('dashboard.calls'),
              data: stats.daily.map(d => d.calls),
              borderColor: cssVariable('--accent', PALETTE[0] ?? '#3b6cf6'),
              backgroundColor: 'transparent',
              cubicInterpolationMode: 'monotone',
            },
          ],
        },
        options: {
          animation: false,
          maintainAspectRatio: false,
          scales: {
            x: { grid: { color: grid } },
            y: { beginAtZero: true, ticks: { precision: 0 }, grid: { color: grid } },
          },
          plugins: { legend: { display: false } },
        },
      })
      pie.dataset.drawn = 'true'
      line.dataset.drawn = 'true'
    })
    return view
  })
}
