/**
 * What a server allocates, counted inside its own process: figures that do not depend on how
 * busy the machine is, unlike times. Between `start` and `stop`:
 *
 * - allocated bytes: every byte the heap grew by, whether a collection later freed it or not
 *   (the growth between collections, from `v8.GCProfiler`'s before/after statistics);
 * - promoted bytes: what young-generation collections moved to the old generation, that is,
 *   objects still alive at a collection (a request's objects kept past its end, or held across
 *   a wait while one ran);
 * - the collections themselves, young and full.
 *
 * With `sample`, V8's sampling heap profiler runs too (collected objects included), and `stop`
 * names the functions that allocated most. With `resources`, an async hook counts the promises,
 * ticks and timers made (the hook's own cost then spoils the byte counts: a separate run).
 */
import { createHook, type AsyncHook } from 'node:async_hooks'
import { Session } from 'node:inspector'
import { GCProfiler, getHeapStatistics } from 'node:v8'

export interface HeapFigures {
  readonly allocatedBytes: number
  readonly promotedBytes: number
  /** What young collections kept in the young generation (copied, not yet promoted). */
  readonly survivedBytes: number
  readonly scavenges: number
  readonly fullCollections: number
  /** Main-thread time of the young and the full collections, in microseconds (load-dependent). */
  readonly youngCostUs: number
  readonly fullCostUs: number
  /** CPU time of the whole process and of its main thread, in microseconds (these do depend on load). */
  readonly cpuUs: number
  readonly mainThreadCpuUs: number
  /** Self bytes by `function file:line`, largest first, when sampled. */
  readonly sites?: Array<[string, number]>
  readonly sampledBytes?: number
  /** Async resources made, by type, when counted. */
  readonly resources?: Record<string, number>
}

export interface HeapOptions {
  /**
   * `all`: every sampled allocation; `live`: only what is still alive when counting stops;
   * `survivors`: what young collections did not free (promoted, then alive or freed by a full one).
   */
  readonly sample?: 'all' | 'live' | 'survivors'
  readonly resources?: boolean
}

interface GcEntry {
  readonly gcType: string
  readonly cost: number
  readonly beforeGC: { heapStatistics: { usedHeapSize: number }; heapSpaceStatistics: Space[] }
  readonly afterGC: { heapStatistics: { usedHeapSize: number }; heapSpaceStatistics: Space[] }
}

interface Space {
  readonly spaceName: string
  readonly spaceUsedSize: number
}

interface SampleNode {
  readonly callFrame: { functionName: string; url: string; lineNumber: number }
  readonly selfSize: number
  readonly children: SampleNode[]
}

let profiler: GCProfiler | undefined
let usedAtStart = 0
let cpuAtStart: NodeJS.CpuUsage | undefined
let threadAtStart: NodeJS.CpuUsage | undefined
let session: Session | undefined
let hook: AsyncHook | undefined
let resources: Record<string, number> | undefined

function post(method: string, params: object = {}): Promise<unknown> {
  return new Promise((resolve, reject) => {
    ;(session as Session).post(method, params, (error, result) => (error ? reject(error) : resolve(result)))
  })
}

export async function startHeap({ sample, resources: count = false }: HeapOptions): Promise<void> {
  if (count) {
    const counts: Record<string, number> = {}
    resources = counts
    hook = createHook({ init: (_id, type) => void (counts[type] = (counts[type] ?? 0) + 1) }).enable()
  }
  if (sample) {
    session = new Session()
    session.connect()
    await post('HeapProfiler.enable')
    await post('HeapProfiler.startSampling', {
      samplingInterval: Number(process.env.BENCH_HEAP_SAMPLE_BYTES ?? 256),
      includeObjectsCollectedByMajorGC: sample !== 'live',
      includeObjectsCollectedByMinorGC: sample === 'all',
    })
  }
  profiler = new GCProfiler()
  profiler.start()
  usedAtStart = getHeapStatistics().used_heap_size
  cpuAtStart = process.cpuUsage()
  threadAtStart = process.threadCpuUsage()
}

function oldUsed(spaces: Space[]): number {
  let used = 0
  for (const space of spaces) if (space.spaceName !== 'new_space') used += space.spaceUsedSize
  return used
}

export async function stopHeap(): Promise<HeapFigures> {
  const cpu = process.cpuUsage(cpuAtStart)
  const thread = process.threadCpuUsage(threadAtStart)
  const cpuUs = cpu.user + cpu.system
  const mainThreadCpuUs = thread.user + thread.system
  const usedAtEnd = getHeapStatistics().used_heap_size
  const statistics = (profiler?.stop()?.statistics ?? []) as unknown as GcEntry[]
  profiler = undefined
  let allocatedBytes = 0
  let promotedBytes = 0
  let survivedBytes = 0
  let youngCostUs = 0
  let fullCostUs = 0
  let scavenges = 0
  let fullCollections = 0
  let used = usedAtStart
  for (const gc of statistics) {
    allocatedBytes += gc.beforeGC.heapStatistics.usedHeapSize - used
    used = gc.afterGC.heapStatistics.usedHeapSize
    if (gc.gcType === 'Scavenge' || gc.gcType === 'MinorMarkSweep') {
      scavenges++
      youngCostUs += gc.cost
      promotedBytes += oldUsed(gc.afterGC.heapSpaceStatistics) - oldUsed(gc.beforeGC.heapSpaceStatistics)
      survivedBytes += gc.afterGC.heapStatistics.usedHeapSize - oldUsed(gc.afterGC.heapSpaceStatistics)
    } else if (gc.gcType === 'MarkSweepCompact') {
      fullCollections++
      fullCostUs += gc.cost
    }
  }
  allocatedBytes += usedAtEnd - used
  hook?.disable()
  hook = undefined
  const counted = resources
  resources = undefined
  if (!session)
    return {
      allocatedBytes,
      promotedBytes,
      survivedBytes,
      scavenges,
      fullCollections,
      youngCostUs,
      fullCostUs,
      cpuUs,
      mainThreadCpuUs,
      resources: counted,
    }
  const { profile } = (await post('HeapProfiler.stopSampling')) as { profile: { head: SampleNode } }
  session.disconnect()
  session = undefined
  const bySite = new Map<string, number>()
  let sampledBytes = 0
  const walk = (node: SampleNode) => {
    if (node.selfSize > 0) {
      const { functionName, url, lineNumber } = node.callFrame
      const file = url.replace(/^.*\/(node_modules\/|core\/|plugins\/)/, '$1')
      const site = `${functionName || '(anonymous)'} ${file}:${lineNumber + 1}`
      bySite.set(site, (bySite.get(site) ?? 0) + node.selfSize)
      sampledBytes += node.selfSize
    }
    for (const child of node.children) walk(child)
  }
  walk(profile.head)
  const sites = [...bySite].sort((a, b) => b[1] - a[1]).slice(0, 60)
  return {
    allocatedBytes,
    promotedBytes,
    survivedBytes,
    scavenges,
    fullCollections,
    youngCostUs,
    fullCostUs,
    cpuUs,
    mainThreadCpuUs,
    sites,
    sampledBytes,
  }
}
