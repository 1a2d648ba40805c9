import { defineEntity } from '@mikro-orm/core'

/** An upstream endpoint of one provider kind, with its own keys, models and limits. */
export const Channel = defineEntity({
  name: 'CatalogChannel',
  tableName: 'catalog_channels',
  properties: p => ({
    id: p.integer().primary().autoincrement(),
    /** Unique: the console and the logs name channels by it. */
    name: p.string().length(100).unique(),
    /** Id of a registered ChatProvider (`openai`, `coze`, ...). */
    provider: p.string().length(32),
    /** Checked against SSRF rules when saved and again at every connection. */
    baseUrl: p.string().length(500),
    /** Requests per minute this channel accepts; 0 means no channel limit. */
    rpmLimit: p.integer().default(0),
    /** JSON list of the user groups this channel serves. */
    groups: p.text(),
    /** Higher first; equal priorities share traffic by weight. */
    priority: p.integer().default(0),
    weight: p.integer().default(1),
    enabled: p.boolean().default(true),
    /** JSON of the provider's own settings (secrets inside are sealed). */
    settings: p.text(),
    /**
     * How stored images (`parley-object://`) reach this upstream: `url` a presigned URL, `inline`
     * a `data:` URL, `auto` a URL when it is absolute, else inline (object-delivery.ts).
     */
    imageDelivery: p.string().length(8).default('auto'),
    /** This channel's upstream timeouts; null: the config's `upstream.*_timeout_ms`. */
    connectTimeoutMs: p.integer().nullable(),
    firstByteTimeoutMs: p.integer().nullable(),
    idleTimeoutMs: p.integer().nullable(),
    createdAt: p.datetime().onCreate(() => new Date()),
    updatedAt: p
      .datetime()
      .onCreate(() => new Date())
      .onUpdate(() => new Date()),
  }),
})

/** One upstream API key of a channel, sealed with AES-256-GCM; only its hint is ever shown. */
export const ChannelKey = defineEntity({
  name: 'CatalogChannelKey',
  tableName: 'catalog_channel_keys',
  properties: p => ({
    id: p.integer().primary().autoincrement(),
    /** Random id used as the cipher's associated data: a sealed key moved to another row fails to open. */
    uid: p.string().length(36).unique(),
    channelId: p.integer().index(),
    /** SecretBox output: version, key id, nonce, ciphertext and tag. */
    sealed: p.text(),
    /** e.g. `sk-…abcd`, so an admin can tell keys apart. */
    hint: p.string().length(32),
    enabled: p.boolean().default(true),
    /** `auth`: disabled by the gateway after repeated auth refusals (key-disable.ts); null otherwise. */
    disabledReason: p.string().length(32).nullable(),
    disabledAt: p.datetime().nullable(),
    createdAt: p.datetime().onCreate(() => new Date()),
  }),
})

/** A model clients may ask for; only enabled models that a channel binds are served. */
export const Model = defineEntity({
  name: 'CatalogModel',
  tableName: 'catalog_models',
  properties: p => ({
    /** The name clients send (`gpt-4o-mini`, `deepseek-r1`, a Coze bot's alias). */
    name: p.string().length(191).primary(),
    displayName: p.string().length(191).default(''),
    /** Shows the thinking panel in the portal. */
    reasoning: p.boolean().default(false),
    /** Accepts image content parts. */
    vision: p.boolean().default(false),
    enabled: p.boolean().default(true),
    createdAt: p.datetime().onCreate(() => new Date()),
  }),
})

/** A channel serving a model, under the upstream's own name for it (alias → upstream model). */
export const ChannelModel = defineEntity({
  name: 'CatalogChannelModel',
  tableName: 'catalog_channel_models',
  properties: p => ({
    id: p.integer().primary().autoincrement(),
    channelId: p.integer().index(),
    /** The catalog model name clients use. */
    model: p.string().length(191).index(),
    /** What the upstream calls it; often the same. */
    upstreamModel: p.string().length(191),
  }),
  uniques: [{ properties: ['channelId', 'model'] }],
})

/** Seed 000: portal traffic of a group goes to this one channel only. */
export const ChatRoute = defineEntity({
  name: 'CatalogChatRoute',
  tableName: 'catalog_chat_routes',
  properties: p => ({
    groupName: p.string().length(64).primary(),
    channelId: p.integer().index(),
    updatedAt: p
      .datetime()
      .onCreate(() => new Date())
      .onUpdate(() => new Date()),
  }),
})

export const catalogEntities = [Channel, ChannelKey, Model, ChannelModel, ChatRoute]
