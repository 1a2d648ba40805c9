import { Type, type DeepReadonly, type PluginContext, type Static } from '@parley/core'

/** What the operator sets in the config file (`plugins: - use: … options: {…}`); fixed until a restart. */
export const TicketOptions = Type.Object(
  {
    /** Largest attachment, in bytes (the bytes travel base64 in the JSON body: mind `server.body_limit`). */
    max_attachment_bytes: Type.Integer({ minimum: 1, maximum: 5 * 1024 * 1024, default: 1024 * 1024 }),
    max_attachments: Type.Integer({ minimum: 0, maximum: 10, default: 3 }),
    /** Content types an attachment may have. */
    attachment_types: Type.Array(Type.String({ pattern: '^[a-z]+/[a-z0-9.+-]+$' }), {
      default: ['image/png', 'image/jpeg', 'image/webp', 'application/pdf', 'text/plain'],
    }),
    /** When the idle job runs (5-field cron, UTC). */
    idle_cron: Type.String({ minLength: 9, default: '0 3 * * *' }),
  },
  { additionalProperties: false },
)
/** The options as `setup` gets them: validated, defaulted, frozen. */
export type TicketOptions = DeepReadonly<Static<typeof TicketOptions>>
export type TicketsContext = PluginContext<Static<typeof TicketOptions>>
