/*
 * `@parley/core/wire`: the API's answer shapes, as types only. Front ends (the admin
 * console's and the portal's bundles) import them from here: this module and the ones it names import nothing
 * of Node or of the server, so a browser build can type-check against the server's own
 * declarations.
 */
export type {
  ChannelTestView,
  ChannelTimeouts,
  ChannelView,
  ChatRouteView,
  ModelView,
  ProviderView,
} from './catalog/views.js'
export type { UsageLogView, UsageStats, UsageTally, UserUsage } from './usage/views.js'
export type { JobCounts, JobOverview, JobRunState, JobRunView } from './jobs/views.js'
