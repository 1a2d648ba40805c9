import { defineEntity } from '@parley/core'

/**
 * A business site that embeds the widget: its backend signs session requests with the client's
 * secret, its pages load `/widget.js`, and its users chat with one catalog model.
 */
export const WidgetClient = defineEntity({
  name: 'WidgetClient',
  tableName: 'widget_clients',
  properties: p => ({
    id: p.integer().primary().autoincrement(),
    /** The public id the backend sends in `X-Parley-Client` and the page in `data-client`. */
    clientId: p.string().length(40).unique(),
    /** Shown to admins only. */
    name: p.string().length(100),
    /** The signing secret, sealed with the kernel's encryption key (like channel keys). */
    secretSealed: p.text(),
    /** The secret before the last rotation: it still verifies until `previousSecretUntil`. */
    previousSecretSealed: p.text().nullable(),
    /** End of the overlap window of a rotation; null when there is no previous secret. */
    previousSecretUntil: p.datetime().nullable(),
    /** JSON list of addresses and CIDR ranges the backend may call from; [] allows none. */
    allowedIps: p.text(),
    /** JSON list of page origins (`https://shop.example`) that may embed the widget. */
    allowedOrigins: p.text(),
    /** The catalog model name the widget's users talk to (a Coze bot model too). */
    model: p.string().length(128),
    /** The first bubble in the panel; empty shows none. */
    greeting: p.string().length(500).default(''),
    /** The launcher's and the user's bubbles' colour, `#rrggbb`. */
    themeColor: p.string().length(7).default('#2563eb'),
    /** Requests per minute per external user; 0 leaves only the `rate-limit.widget_rpm` setting. */
    rpm: p.integer().default(0),
    /** Whether questions and answers are kept through the conversations service. */
    transcripts: p.boolean().default(false),
    /** A disabled client's sessions and signatures are refused. */
    enabled: p.boolean().default(true),
    createdAt: p.datetime().onCreate(() => new Date()),
    updatedAt: p
      .datetime()
      .onCreate(() => new Date())
      .onUpdate(() => new Date()),
  }),
})
