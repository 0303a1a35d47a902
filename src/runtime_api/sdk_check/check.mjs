// Drives a running `sandboxd runtime` with one version of the official E2B JS
// SDK and checks that every control-plane call the SDK makes works against it.
// Usage: node check.mjs <package> <routes>
//   package: e2b (the newest pinned) or e2b-oldest (2.45.0)
//   routes:  v2 (creates with POST /v2/sandboxes, resumes with POST
//            /v2/sandboxes/{id}/connect) or v1 (POST /sandboxes, POST
//            /sandboxes/{id}/connect): which ones this version must be seen to use
// Env: E2B_API_URL=http://127.0.0.1:<port>  E2B_API_KEY=<key>
// Exit code 0 = every step passed. Run through run.sh, which starts the runtime.
import http from 'node:http'
import { createRequire } from 'node:module'

const pkg = process.argv[2] ?? 'e2b'
const routes = process.argv[3] ?? 'v2'
const { Sandbox } = await import(pkg)
const version = createRequire(import.meta.url)(`${pkg}/package.json`).version
const apiUrl = new URL(process.env.E2B_API_URL ?? '')
const project = `sdk-check-${version}`
let failures = 0
function check(cond, what) {
  console.log(`${cond ? 'ok  ' : 'FAIL'} [e2b ${version}] ${what}`)
  if (!cond) failures++
}

// GET through the runtime's preview-host proxy (Host: <port>-<id>.<domain>).
function previewGet(host, path) {
  return new Promise((resolve, reject) => {
    const req = http.request(
      { host: apiUrl.hostname, port: apiUrl.port, path, method: 'GET', headers: { Host: host } },
      (res) => {
        let body = ''
        res.on('data', (c) => (body += c))
        res.on('end', () => resolve({ status: res.statusCode, body }))
      },
    )
    req.on('error', reject)
    req.end()
  })
}

// Requests the runtime counted for route template `route` (its /metrics).
async function routeCount(route) {
  const res = await fetch(new URL('/metrics', apiUrl))
  let n = 0
  for (const line of (await res.text()).split('\n')) {
    if (line.startsWith('sandboxd_runtime_requests_total{') && line.includes(`route="${route}"`)) {
      n += Number(line.slice(line.lastIndexOf(' ') + 1))
    }
  }
  return n
}
const prefix = routes === 'v2' ? '/v2' : ''

async function errorOf(promise) {
  try {
    await promise
    return ''
  } catch (e) {
    return String(e)
  }
}

// --- The lifecycle every SDK version drives ---
const createsBefore = await routeCount(`${prefix}/sandboxes`)
const sbx = await Sandbox.create('hello', { timeoutMs: 60_000, metadata: { projectId: project } })
check(/^[a-z0-9]+$/.test(sbx.sandboxId), `create -> ${sbx.sandboxId}`)
check((await routeCount(`${prefix}/sandboxes`)) === createsBefore + 1, `create used POST ${prefix}/sandboxes`)

// The runtime's default domain is localhost:<its port>, so getHost() names a
// host:port that reaches its preview proxy.
const host = sbx.getHost(3000)
check(host === `3000-${sbx.sandboxId}.localhost:${apiUrl.port}`, `getHost(3000) -> ${host}`)
const page = await previewGet(host, '/state')
check(page.status === 200 && page.body.includes('requests'), `preview proxy -> ${page.status} ${page.body}`)
const before = JSON.parse(page.body)

const paginator = Sandbox.list({ query: { metadata: { projectId: project }, state: ['running'] } })
const listed = await paginator.nextItems()
check(listed.length === 1 && listed[0].sandboxId === sbx.sandboxId, `list -> ${listed.length} item(s)`)
check(paginator.hasNext === false, 'list has no next page')

const info = await Sandbox.getInfo(sbx.sandboxId)
check(info.state === 'running' && info.metadata.projectId === project, `getInfo -> ${info.state}`)
check(info.templateId === 'hello', `getInfo templateId -> ${info.templateId}`)

await sbx.setTimeout(30_000)
const afterTimeout = await Sandbox.getInfo(sbx.sandboxId)
const left = afterTimeout.endAt.getTime() - Date.now()
check(left > 20_000 && left <= 31_000, `setTimeout(30s) -> endAt in ${Math.round(left / 1000)} s`)

check((await sbx.pause()) === true, 'pause -> true')
check((await sbx.pause()) === false, 'second pause -> false (409)')
check((await Sandbox.getInfo(sbx.sandboxId)).state === 'paused', 'getInfo after pause -> paused')
const pausedPage = await previewGet(host, '/state')
check(
  pausedPage.status === 409 && JSON.parse(pausedPage.body).canAutoResume === false,
  `preview while paused without autoResume -> ${pausedPage.status} ${pausedPage.body}`,
)

const connectRoute = `${prefix}/sandboxes/{sandboxID}/connect`
const connectsBefore = await routeCount(connectRoute)
const again = await Sandbox.connect(sbx.sandboxId, { timeoutMs: 60_000 })
check(again.sandboxId === sbx.sandboxId, 'connect (resume) -> same sandbox')
check((await routeCount(connectRoute)) === connectsBefore + 1, `connect used POST ${connectRoute}`)
check((await Sandbox.getInfo(sbx.sandboxId)).state === 'running', 'getInfo after connect -> running')
const resumed = JSON.parse((await previewGet(host, '/state')).body)
check(
  resumed.startedAt === before.startedAt && resumed.requests > before.requests,
  `hello counter continued: ${before.requests} -> ${resumed.requests}`,
)

check((await sbx.kill()) === true, 'kill -> true')
check((await Sandbox.kill(sbx.sandboxId)) === false, 'second kill -> false (404)')
check(/not found/i.test(await errorOf(Sandbox.connect(sbx.sandboxId, { timeoutMs: 10_000 }))),
  'connect after kill -> not found error')

// --- autoResume: traffic to the preview host of a paused sandbox resumes it ---
const lazy = await Sandbox.create('hello', {
  timeoutMs: 60_000,
  metadata: { projectId: `${project}-auto` },
  lifecycle: { onTimeout: 'pause', autoResume: true },
})
const lazyInfo = await Sandbox.getInfo(lazy.sandboxId)
check(
  lazyInfo.lifecycle?.onTimeout === 'pause' && lazyInfo.lifecycle?.autoResume === true,
  `getInfo lifecycle -> ${JSON.stringify(lazyInfo.lifecycle)}`,
)
const lazyHost = lazy.getHost(3000)
const lazyBefore = JSON.parse((await previewGet(lazyHost, '/state')).body)
check((await lazy.pause()) === true, 'autoResume sandbox: pause -> true')
check((await Sandbox.getInfo(lazy.sandboxId)).state === 'paused', 'autoResume sandbox: paused')
const woken = await previewGet(lazyHost, '/state')
check(woken.status === 200, `preview request to the paused sandbox -> ${woken.status} ${woken.body}`)
const wokenState = woken.status === 200 ? JSON.parse(woken.body) : {}
check(
  wokenState.startedAt === lazyBefore.startedAt && wokenState.requests > lazyBefore.requests,
  `the app answered with its counter kept: ${lazyBefore.requests} -> ${wokenState.requests}`,
)
check((await Sandbox.getInfo(lazy.sandboxId)).state === 'running', 'the SDK sees it running')
check((await lazy.kill()) === true, 'autoResume sandbox: kill -> true')

// --- What the local runtime cannot do is a clear 400, never ignored ---
const refused = await errorOf(Sandbox.create('hello', { timeoutMs: 10_000, envs: { A: '1' } }))
check(/envVars/.test(refused) && /not supported/.test(refused), `create with envs -> ${refused}`)

console.log(`${failures === 0 ? 'PASS' : 'FAIL'} [e2b ${version}]: ${failures} failure(s)`)
process.exit(failures === 0 ? 0 : 1)
