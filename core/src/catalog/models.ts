import type { EntityManager, InferEntity } from '@mikro-orm/core'
import { errors } from '../errors.js'
import { Channel, ChannelModel, ChatRoute, Model } from './entities.js'
import type { ChatRouteView, ModelView } from './views.js'

export type { ChatRouteView, ModelView } from './views.js'

export interface ModelInput {
  name: string
  display_name?: string
  reasoning?: boolean
  vision?: boolean
  enabled?: boolean
}

/** The model catalog: what may be served, and how the portal presents it. */
export class ModelStore {
  async list(em: EntityManager): Promise<ModelView[]> {
    const [models, bindings] = await Promise.all([
      em.find(Model, {}, { orderBy: { name: 'asc' } }),
      em.find(ChannelModel, {}),
    ])
    return models.map(model =>
      view(
        model,
        bindings.filter(b => b.model === model.name).map(b => b.channelId),
      ),
    )
  }

  async create(em: EntityManager, input: ModelInput): Promise<ModelView> {
    if (await em.findOne(Model, { name: input.name }))
      throw errors.PARLEY_ERR_CATALOG_MODEL_EXISTS({ name: input.name })
    const model = em.create(Model, {
      name: input.name,
      displayName: input.display_name ?? input.name,
      reasoning: input.reasoning ?? false,
      vision: input.vision ?? false,
      enabled: input.enabled ?? true,
    })
    await em.flush()
    return view(model, [])
  }

  async update(em: EntityManager, name: string, input: Omit<ModelInput, 'name'>): Promise<ModelView> {
    const model = await em.findOne(Model, { name })
    if (!model) throw errors.PARLEY_ERR_CATALOG_MODEL_NOT_FOUND({ name })
    if (input.display_name !== undefined) model.displayName = input.display_name
    if (input.reasoning !== undefined) model.reasoning = input.reasoning
    if (input.vision !== undefined) model.vision = input.vision
    if (input.enabled !== undefined) model.enabled = input.enabled
    await em.flush()
    const bindings = await em.find(ChannelModel, { model: name })
    return view(
      model,
      bindings.map(b => b.channelId),
    )
  }

  /** Refused while a channel still serves the model: unbind it there first. */
  async delete(em: EntityManager, name: string): Promise<void> {
    const model = await em.findOne(Model, { name })
    if (!model) throw errors.PARLEY_ERR_CATALOG_MODEL_NOT_FOUND({ name })
    const bindings = await em.find(ChannelModel, { model: name })
    if (bindings.length > 0) {
      const channels = await em.find(Channel, { id: { $in: bindings.map(b => b.channelId) } })
      throw errors.PARLEY_ERR_CATALOG_MODEL_BOUND({ name, channels: channels.map(c => c.name).join(', ') })
    }
    await em.removeAndFlush(model)
  }
}

/** Chat group routes: a group's portal traffic goes to one channel only (docs/catalog.md). */
export class ChatRouteStore {
  async list(em: EntityManager): Promise<ChatRouteView[]> {
    const routes = await em.find(ChatRoute, {}, { orderBy: { groupName: 'asc' } })
    const channels = routes.length ? await em.find(Channel, { id: { $in: routes.map(r => r.channelId) } }) : []
    return routes.map(route => ({
      group_name: route.groupName,
      channel_id: route.channelId,
      channel_name: channels.find(c => c.id === route.channelId)?.name ?? '',
      updated_at: route.updatedAt.toISOString(),
    }))
  }

  /** Saves after checking that the channel exists, is enabled and serves the group. */
  async set(em: EntityManager, group: string, channelId: number): Promise<{ created: boolean }> {
    const channel = await em.findOne(Channel, { id: channelId })
    if (!channel) throw errors.PARLEY_ERR_CATALOG_ROUTE_CHANNEL_MISSING({ id: channelId })
    if (!channel.enabled) throw errors.PARLEY_ERR_CATALOG_ROUTE_CHANNEL_DISABLED({ name: channel.name })
    const groups = JSON.parse(channel.groups) as string[]
    if (!groups.includes(group)) throw errors.PARLEY_ERR_CATALOG_ROUTE_GROUP_NOT_SERVED({ name: channel.name, group })
    const existing = await em.findOne(ChatRoute, { groupName: group })
    if (existing) existing.channelId = channelId
    else em.create(ChatRoute, { groupName: group, channelId })
    await em.flush()
    return { created: !existing }
  }

  async delete(em: EntityManager, group: string): Promise<void> {
    const route = await em.findOne(ChatRoute, { groupName: group })
    if (!route) throw errors.PARLEY_ERR_CATALOG_ROUTE_NOT_FOUND({ group })
    await em.removeAndFlush(route)
  }
}

function view(model: InferEntity<typeof Model>, channels: number[]): ModelView {
  return {
    name: model.name,
    display_name: model.displayName,
    reasoning: model.reasoning,
    vision: model.vision,
    enabled: model.enabled,
    channels,
  }
}
