/**
 * The pipeline's list of running calls: what a shutdown stops, and what `running` counts. A call
 * that left the list keeps no link to any other (that is why it is a list and not a `Set`).
 */
import t from 'tap'
import { RunningCalls, type Listed } from '../src/pipeline/running-calls.js'

class Item implements Listed<Item> {
  runningPrev: Item | undefined = undefined
  runningNext: Item | undefined = undefined
  constructor(readonly name: string) {}
}

const names = (list: RunningCalls<Item>) => list.list().map(item => item.name)

t.test('calls join and leave in any order; the size follows', async t => {
  const list = new RunningCalls<Item>()
  const [a, b, c, d] = ['a', 'b', 'c', 'd'].map(name => new Item(name)) as [Item, Item, Item, Item]
  for (const item of [a, b, c, d]) list.add(item)
  t.equal(list.size, 4)
  t.same(names(list).sort(), ['a', 'b', 'c', 'd'])
  list.delete(c) // in the middle
  list.delete(d) // the newest
  list.delete(a) // the oldest
  t.same(names(list), ['b'])
  t.equal(list.size, 1)
  list.delete(b)
  t.same(names(list), [])
  t.equal(list.size, 0)
})

t.test('a call that left keeps no link, and leaving twice changes nothing', async t => {
  const list = new RunningCalls<Item>()
  const [a, b, c] = ['a', 'b', 'c'].map(name => new Item(name)) as [Item, Item, Item]
  for (const item of [a, b, c]) list.add(item)
  list.delete(b)
  t.equal(b.runningPrev, undefined)
  t.equal(b.runningNext, undefined)
  list.delete(b)
  t.equal(list.size, 2)
  t.same(names(list).sort(), ['a', 'c'])
  // One that never joined.
  list.delete(new Item('stranger'))
  t.equal(list.size, 2)
})

t.test('stopping every call while each leaves as it stops reaches them all', async t => {
  const list = new RunningCalls<Item>()
  const items = Array.from({ length: 5 }, (_, index) => new Item(String(index)))
  for (const item of items) list.add(item)
  const stopped: string[] = []
  for (const item of list.list()) {
    stopped.push(item.name)
    list.delete(item)
  }
  t.same(stopped.sort(), ['0', '1', '2', '3', '4'])
  t.equal(list.size, 0)
})
