import { readdirSync, readFileSync, statSync } from 'node:fs'
import path from 'node:path'
import { fileURLToPath } from 'node:url'
import t from 'tap'

// The recording core's layering is kept by this test rather than by review: a folder that
// imports a folder importing it back cannot be changed, tested or moved on its own.

const SRC = fileURLToPath(new URL('../src/', import.meta.url))

function sourceFiles(dir: string): string[] {
  return readdirSync(dir).flatMap((name) => {
    const file = path.join(dir, name)
    if (statSync(file).isDirectory()) return sourceFiles(file)
    return /\.(ts|mts|mjs)$/.test(name) ? [file] : []
  })
}

/** A top-level folder of src/ (`ledger/`), or a file at src/'s top (`app.ts`), which is a node of its own. */
function nodeOf(file: string): string {
  const parts = path.relative(SRC, file).split(path.sep)
  return parts.length === 1 ? parts[0]! : `${parts[0]}/`
}

const IMPORT = /(?:\bfrom|\bimport)\s*\(?\s*['"](\.{1,2}\/[^'"]+)['"]/g

/** node → node → the imports that make the edge, for the failure message. */
function folderGraph(files: readonly string[]): Map<string, Map<string, string[]>> {
  const graph = new Map<string, Map<string, string[]>>()
  for (const file of files) {
    for (const [, specifier] of readFileSync(file, 'utf8').matchAll(IMPORT)) {
      const from = nodeOf(file)
      const to = nodeOf(path.resolve(path.dirname(file), specifier!))
      if (from === to) continue
      const edges = graph.get(from) ?? new Map<string, string[]>()
      graph.set(from, edges)
      edges.set(to, [...(edges.get(to) ?? []), `${path.relative(SRC, file)} imports ${specifier}`])
    }
  }
  return graph
}

/** Tarjan's strongly connected components of more than one node: each is a cycle of folders. */
function cycles(graph: Map<string, Map<string, string[]>>): string[][] {
  const index = new Map<string, number>()
  const low = new Map<string, number>()
  const stack: string[] = []
  const onStack = new Set<string>()
  const found: string[][] = []
  let next = 0
  const visit = (node: string) => {
    index.set(node, next)
    low.set(node, next++)
    stack.push(node)
    onStack.add(node)
    for (const to of graph.get(node)?.keys() ?? []) {
      if (!index.has(to)) {
        visit(to)
        low.set(node, Math.min(low.get(node)!, low.get(to)!))
      } else if (onStack.has(to)) low.set(node, Math.min(low.get(node)!, index.get(to)!))
    }
    if (low.get(node) !== index.get(node)) return
    const component: string[] = []
    let member: string
    do {
      member = stack.pop()!
      onStack.delete(member)
      component.push(member)
    } while (member !== node)
    if (component.length > 1) found.push(component.sort())
  }
  for (const node of graph.keys()) if (!index.has(node)) visit(node)
  return found
}

const files = sourceFiles(SRC)

t.test('no two folders of src/ import each other, directly or round a cycle', async (t) => {
  const graph = folderGraph(files)
  t.ok(graph.get('recording/')?.has('ledger/'), 'the graph is read (the recording core imports the ledger)')
  for (const cycle of cycles(graph)) {
    const edges = cycle.flatMap((from) => [...(graph.get(from) ?? [])].filter(([to]) => cycle.includes(to)).map(([, why]) => why[0]!))
    t.fail(`a cycle of folders: ${cycle.join(', ')}`, { edges })
  }
})

t.test('the cycle check finds a cycle when there is one', async (t) => {
  const graph = new Map([
    ['a/', new Map([['b/', ['a/x.ts imports ../b/y.js']]])],
    ['b/', new Map([['c.ts', ['b/y.ts imports ../c.js']]])],
    ['c.ts', new Map([['a/', ['c.ts imports ./a/x.js']]])]
  ])
  t.same(cycles(graph), [['a/', 'b/', 'c.ts']])
})

t.test('the resources sit below the recording core: none of them imports it', async (t) => {
  const graph = folderGraph(files)
  for (const resource of ['members/', 'recipients/', 'contractors/', 'clients/', 'entities/', 'ledger/', 'policy/', 'db/']) {
    t.notOk(graph.get(resource)?.has('recording/'), `${resource} does not import recording/`, { imports: graph.get(resource)?.get('recording/') })
  }
})

t.test("only src/db/ knows which database engine it runs on; the rest asks the backend's capabilities", async (t) => {
  const outside = files.filter((file) => !path.relative(SRC, file).startsWith(`db${path.sep}`))
  t.ok(outside.length > 50, 'the files outside src/db/ are read')
  for (const file of outside) {
    const text = readFileSync(file, 'utf8')
    const named = /['"`](postgres|pglite)['"`]|\.kind\s*[!=]==\s*['"](postgres|pglite)['"]|database\.kind\b/.exec(text)
    t.equal(named, null, `${path.relative(SRC, file)} names no engine`, { found: named?.[0] })
  }
})
