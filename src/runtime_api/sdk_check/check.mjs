// Drives a running `sandboxd runtime` with the official E2B JS SDK and checks
// that every control-plane call the SDK makes works against it.
// Env: E2B_API_URL=http://127.0.0.1:<port>  E2B_API_KEY=<key>  E2B_DOMAIN=localhost
// Exit code 0 = every step passed. Run through run.sh, which starts the runtime.
import http from 'node:http'
import { Sandbox } from 'e2b'

const apiUrl = new URL(process.env.E2B_API_URL ?? '')
let failures = 0
function check(cond, what) {
  console.log(`${cond ? 'ok  ' : 'FAIL'} ${what}`)
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

const sbx = await Sandbox.create('hello', { timeoutMs: 60_000, metadata: { projectId: 'sdk-check' } })
check(/^[a-z0-9]+$/.test(sbx.sandboxId), `create -> ${sbx.sandboxId}`)

const host = sbx.getHost(3000)
check(host === `3000-${sbx.sandboxId}.localhost`, `getHost(3000) -> ${host}`)
const page = await previewGet(host, '/state')
check(page.status === 200 && page.body.includes('requests'), `preview proxy -> ${page.status} ${page.body}`)
const before = JSON.parse(page.body)

const paginator = Sandbox.list({ query: { metadata: { projectId: 'sdk-check' }, state: ['running'] } })
const listed = await paginator.nextItems()
check(listed.length === 1 && listed[0].sandboxId === sbx.sandboxId, `list -> ${listed.length} item(s)`)
check(paginator.hasNext === false, 'list has no next page')

const info = await Sandbox.getInfo(sbx.sandboxId)
check(info.state === 'running' && info.metadata.projectId === 'sdk-check', `getInfo -> ${info.state}`)
check(info.templateId === 'hello', `getInfo templateId -> ${info.templateId}`)

await sbx.setTimeout(30_000)
const afterTimeout = await Sandbox.getInfo(sbx.sandboxId)
const left = afterTimeout.endAt.getTime() - Date.now()
check(left > 20_000 && left <= 31_000, `setTimeout(30s) -> endAt in ${Math.round(left / 1000)} s`)

check((await sbx.pause()) === true, 'pause -> true')
check((await sbx.pause()) === false, 'second pause -> false (409)')
check((await Sandbox.getInfo(sbx.sandboxId)).state === 'paused', 'getInfo after pause -> paused')
const pausedPage = await previewGet(host, '/state')
check(pausedPage.status === 502, `preview while paused -> ${pausedPage.status}`)

const again = await Sandbox.connect(sbx.sandboxId, { timeoutMs: 60_000 })
check(again.sandboxId === sbx.sandboxId, 'connect (resume) -> same sandbox')
check((await Sandbox.getInfo(sbx.sandboxId)).state === 'running', 'getInfo after connect -> running')
const resumed = JSON.parse((await previewGet(host, '/state')).body)
check(
  resumed.startedAt === before.startedAt && resumed.requests > before.requests,
  `hello counter continued: ${before.requests} -> ${resumed.requests}`,
)

check((await sbx.kill()) === true, 'kill -> true')
check((await Sandbox.kill(sbx.sandboxId)) === false, 'second kill -> false (404)')
let notFound = false
try {
  await Sandbox.connect(sbx.sandboxId, { timeoutMs: 10_000 })
} catch (e) {
  notFound = /not found/i.test(String(e))
}
check(notFound, 'connect after kill -> not found error')

console.log(`${failures === 0 ? 'PASS' : 'FAIL'}: ${failures} failure(s)`)
process.exit(failures === 0 ? 0 : 1)
