import type { JobOverview as Job, JobRunView as Run } from '@parley/core/wire'
import { api, query, type Page } from '../api.js'
import { h, replace } from '../dom.js'
import { t } from '../i18n.js'
import { badge, button, header, notify, pager, render, table, when } from '../ui.js'

const PAGE_SIZE = 20

function stateBadge(state: Run['state']): HTMLElement {
  return badge(t(`jobs.state_${state}`), state === 'completed' ? 'ok' : state === 'failed' ? 'error' : 'warn')
}

/** Background jobs: each queue's schedule, counts and last run; the runs of one, failures retried. */
export function jobsSection(root: HTMLElement): void {
  const runsBox = h('section', { class: 'admin-runs', 'data-role': 'runs' })
  const load = () =>
    render(root, async () => {
      const overview = await api<Page<Job> & { driver: string }>('GET', '/api/admin/jobs')
      return h(
        'div',
        {},
        header(t('jobs.title')),
        h('p', { class: 'admin-muted' }, t(`jobs.driver_${overview.driver}`)),
        table(
          [
            { label: t('jobs.name'), cell: (j: Job) => h('code', {}, j.name) },
            {
              label: t('jobs.schedule'),
              cell: j => (j.cron ? `${j.cron}${j.timezone ? ` (${j.timezone})` : ''}` : '—'),
            },
            { label: t('jobs.next_run'), cell: j => when(j.next_run_at) },
            {
              label: t('jobs.last_run'),
              cell: j =>
                j.last_run
                  ? h(
                      'span',
                      {},
                      stateBadge(j.last_run.state),
                      ' ',
                      when(j.last_run.finished_at ?? j.last_run.created_at),
                    )
                  : '—',
            },
            { label: t('jobs.counts'), cell: j => t('jobs.counts_text', { ...j.counts }) },
            {
              label: t('common.actions'),
              cell: j =>
                h(
                  'div',
                  { class: 'admin-row-actions' },
                  button(t('jobs.runs'), 'runs', () => void showRuns(runsBox, j.name, 'all', 1, load)),
                  button(
                    t('jobs.failures', { count: j.counts.failed }),
                    'failures',
                    () => void showRuns(runsBox, j.name, 'failed', 1, load),
                  ),
                ),
            },
          ],
          overview.items,
          { role: 'jobs', rowKey: j => j.name },
        ),
        runsBox,
      )
    })
  void load()
}

async function showRuns(
  box: HTMLElement,
  name: string,
  state: 'all' | 'failed',
  page: number,
  reload: () => Promise<void>,
): Promise<void> {
  try {
    const runs = await api<Page<Run>>(
      'GET',
      `/api/admin/jobs/${encodeURIComponent(name)}/runs${query({ state, page, page_size: PAGE_SIZE })}`,
    )
    replace(
      box,
      h('h2', {}, t(state === 'failed' ? 'jobs.failures_of' : 'jobs.runs_of', { name })),
      table(
        [
          { label: t('jobs.created'), cell: (r: Run) => when(r.created_at) },
          { label: t('jobs.state'), cell: r => stateBadge(r.state) },
          { label: t('jobs.attempts'), cell: r => r.attempts },
          { label: t('jobs.finished'), cell: r => when(r.finished_at) },
          { label: t('jobs.error'), cell: r => r.error ?? '' },
          {
            label: t('common.actions'),
            cell: r =>
              r.state === 'failed'
                ? button(t('jobs.retry'), 'retry', () => {
                    void api('POST', `/api/admin/jobs/runs/${encodeURIComponent(r.id)}/retry`, {})
                      .then(async () => {
                        notify(t('jobs.retried', { name }))
                        await reload()
                      })
                      .catch((error: Error) => notify(error.message, 'error'))
                  })
                : null,
          },
        ],
        runs.items,
        { role: 'job-runs', rowKey: r => r.id },
      ),
      pager(page, PAGE_SIZE, runs.total, next => void showRuns(box, name, state, next, reload)),
    )
  } catch (error) {
    notify((error as Error).message, 'error')
  }
}
