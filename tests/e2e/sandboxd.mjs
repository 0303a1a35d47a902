// Start/stop a real sandboxd (local runc runtime) for the browser tests, and talk to its API.
//
// Paths (environment, relative paths are resolved from the current directory):
//   SANDBOXD_BUILD_DIR      build directory with sandboxd + sandbox-hello (default <repo>/build)
//   SANDBOXD_WEB_DIST       built dashboard (default <repo>/web/dashboard/dist)
//   SANDBOXD_TEMPLATES_DIR  local-runtime templates (default <repo>/templates)
//   RUNC                    runc binary (default: `runc` on PATH)
//   E2E_ARTIFACTS_DIR       screenshots and daemon logs (default tests/e2e/artifacts)

import { spawn, execFileSync } from 'node:child_process';
import fs from 'node:fs';
import http from 'node:http';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const HERE = path.dirname(fileURLToPath(import.meta.url));
export const REPO = path.resolve(HERE, '..', '..');

const fromEnv = (name, fallback) => (process.env[name] ? path.resolve(process.env[name]) : fallback);

export const paths = {
  buildDir: fromEnv('SANDBOXD_BUILD_DIR', path.join(REPO, 'build')),
  webDist: fromEnv('SANDBOXD_WEB_DIST', path.join(REPO, 'web', 'dashboard', 'dist')),
  templatesDir: fromEnv('SANDBOXD_TEMPLATES_DIR', path.join(REPO, 'templates')),
  artifactsDir: fromEnv('E2E_ARTIFACTS_DIR', path.join(HERE, 'artifacts')),
};

export const IDLE_TIMEOUT_S = 3;

export const sleep = (ms) => new Promise((resolve) => setTimeout(resolve, ms));

function isExecutable(file) {
  try {
    fs.accessSync(file, fs.constants.X_OK);
    return fs.statSync(file).isFile();
  } catch {
    return false;
  }
}

/** The runc binary: $RUNC, else the first `runc` on PATH (plus /usr/sbin, /sbin); null if none. */
export function findRunc() {
  if (process.env.RUNC) return isExecutable(process.env.RUNC) ? process.env.RUNC : null;
  const dirs = [...(process.env.PATH ?? '').split(':'), '/usr/local/sbin', '/usr/sbin', '/sbin'];
  for (const dir of dirs) {
    if (dir && isExecutable(path.join(dir, 'runc'))) return path.join(dir, 'runc');
  }
  return null;
}

/** What the daemon side lacks: one line per missing piece, with the command that provides it. */
export function daemonProblems() {
  const problems = [];
  for (const bin of ['sandboxd', 'sandbox-hello']) {
    const file = path.join(paths.buildDir, bin);
    if (!isExecutable(file)) {
      problems.push(
        `missing ${file} — build it: cmake -S ${REPO} -B ${paths.buildDir} && ` +
          `cmake --build ${paths.buildDir} -j2 --target sandboxd sandboxctl sandbox-hello ` +
          `(or point SANDBOXD_BUILD_DIR at a build directory)`,
      );
    }
  }
  if (!fs.existsSync(path.join(paths.webDist, 'index.html'))) {
    problems.push(
      `missing ${path.join(paths.webDist, 'index.html')} — build the dashboard: ` +
        `cd ${path.join(REPO, 'web')} && npm ci && npm run build (or set SANDBOXD_WEB_DIST)`,
    );
  }
  if (!fs.existsSync(path.join(paths.templatesDir, 'hello.json'))) {
    problems.push(`missing ${path.join(paths.templatesDir, 'hello.json')} (set SANDBOXD_TEMPLATES_DIR)`);
  }
  if (findRunc() === null) {
    problems.push('runc not found (PATH, /usr/sbin, or $RUNC) — install it: apt-get install -y runc');
  }
  if (typeof process.getuid === 'function' && process.getuid() !== 0) {
    problems.push('the local runtime runs runc containers and needs root; run the tests as root');
  }
  return problems;
}

/** Throws one Error listing every missing piece (the tests fail with it; they never skip). */
export function failOnProblems(problems) {
  if (problems.length) {
    throw new Error(`browser tests cannot run:\n  - ${problems.join('\n  - ')}`);
  }
}

export const checkDaemonPrerequisites = () => failOnProblems(daemonProblems());

// Daemons still alive when the process exits (a test crashed before its after hook): killed and
// their containers removed synchronously on exit.
const live = new Set();
process.on('exit', () => {
  for (const d of live) d.killSync();
});

/**
 * Start `sandboxd serve` on a free port with a fresh data dir, 3 s idle timeout, a 1 s enforcer
 * sweep and the given port range for the sandboxes (`extraArgs`: more `serve` flags). Resolves
 * when it printed its URL and token.
 */
export async function startSandboxd({
  portRange,
  name = 'sandboxd',
  idleTimeout = `${IDLE_TIMEOUT_S}s`,
  extraArgs = [],
}) {
  checkDaemonPrerequisites();
  const runc = findRunc();
  const dataDir = fs.mkdtempSync(path.join(os.tmpdir(), 'sandboxd-e2e-'));
  const args = [
    'serve',
    '--listen', '127.0.0.1:0',
    '--data-dir', dataDir,
    '--idle-timeout', idleTimeout,
    '--enforcer-schedule', '@every 1s',
    '--port-range', portRange,
    '--templates-dir', paths.templatesDir,
    '--web-dir', paths.webDist,
    // The preview gateway on a free port: previews are http://<port>-<id>.localhost:<it>/
    // (Chromium resolves *.localhost to loopback by itself).
    '--preview-listen', '127.0.0.1:0',
    ...extraArgs,
  ];
  const bin = path.join(paths.buildDir, 'sandboxd');
  fs.mkdirSync(paths.artifactsDir, { recursive: true });
  const logFile = path.join(paths.artifactsDir, `${name}.log`);
  const log = fs.createWriteStream(logFile);
  log.write(`$ ${bin} ${args.join(' ')}\n`);
  const child = spawn(bin, args, {
    stdio: ['ignore', 'pipe', 'pipe'],
    env: { ...process.env, PATH: `${path.dirname(runc)}:${process.env.PATH ?? ''}` },
  });
  let stderrTail = '';
  child.stderr.setEncoding('utf8');
  child.stderr.on('data', (chunk) => {
    log.write(chunk);
    stderrTail = (stderrTail + chunk).slice(-4000);
  });

  const daemon = {
    child,
    dataDir,
    logFile,
    runcRoot: path.join(dataDir, 'runc'),
    runc,
    baseUrl: '',
    token: '',
    dashboardUrl: '',
    previewListen: '',
    previewDomain: '',
    stderrTail: () => stderrTail,
    stopped: false,
    killSync() {
      if (daemon.stopped) return;
      daemon.stopped = true;
      try {
        child.kill('SIGKILL');
      } catch {
        /* gone */
      }
      removeContainersSync(daemon);
      fs.rmSync(dataDir, { recursive: true, force: true });
    },
    stop: () => stopSandboxd(daemon),
  };
  live.add(daemon);

  const exited = new Promise((resolve) => child.once('exit', (code, signal) => resolve({ code, signal })));
  daemon.exited = exited;

  const ready = new Promise((resolve, reject) => {
    let out = '';
    child.stdout.setEncoding('utf8');
    child.stdout.on('data', (chunk) => {
      log.write(chunk);
      out += chunk;
      const url = /sandboxd listening on (http:\/\/127\.0\.0\.1:\d+)\/?/.exec(out);
      // A fresh data dir: sandboxd generated the token, so it prints it and the
      // sign-in link with it in the fragment (`/#token=…`).
      const token = /^API token: (\S+)$/m.exec(out);
      const open = /Open the dashboard: (\S+#token=\S+)/.exec(out);
      const previews = /Previews on (127\.0\.0\.1:\d+): http:\/\/<port>-<sandboxId>\.(\S+)\//.exec(out);
      if (url && token && open && previews) {
        resolve({
          baseUrl: url[1],
          token: token[1],
          dashboardUrl: open[1],
          previewListen: previews[1],
          previewDomain: previews[2],
        });
      }
    });
    exited.then(({ code, signal }) =>
      reject(new Error(`sandboxd exited (code ${code}, signal ${signal}) before it was ready:\n${out}\n${stderrTail}`)),
    );
  });
  let timer;
  const timeout = new Promise((_, reject) => {
    timer = setTimeout(() => reject(new Error(`sandboxd did not print its URL within 20 s:\n${stderrTail}`)), 20_000);
  });
  try {
    Object.assign(daemon, await Promise.race([ready, timeout]));
  } catch (err) {
    await stopSandboxd(daemon);
    throw err;
  } finally {
    clearTimeout(timer);
  }
  return daemon;
}

function runcIds(daemon) {
  if (!fs.existsSync(daemon.runcRoot)) return [];
  try {
    return execFileSync(daemon.runc, ['--root', daemon.runcRoot, 'list', '-q'], { encoding: 'utf8' })
      .split('\n')
      .map((s) => s.trim())
      .filter(Boolean);
  } catch {
    return [];
  }
}

function removeContainersSync(daemon) {
  for (const id of runcIds(daemon)) {
    try {
      execFileSync(daemon.runc, ['--root', daemon.runcRoot, 'kill', id, 'KILL'], { stdio: 'ignore' });
    } catch {
      /* a paused or stopped container may refuse; delete --force handles it */
    }
    try {
      execFileSync(daemon.runc, ['--root', daemon.runcRoot, 'delete', '--force', id], { stdio: 'ignore' });
    } catch {
      /* reported below */
    }
  }
  const left = runcIds(daemon);
  if (left.length) throw new Error(`runc containers left under ${daemon.runcRoot}: ${left.join(', ')}`);
}

/** SIGTERM (SIGKILL after 10 s), then kill + delete every container, then remove the data dir. */
export async function stopSandboxd(daemon) {
  if (!daemon || daemon.stopped) return;
  daemon.stopped = true;
  live.delete(daemon);
  const { child } = daemon;
  if (child.exitCode === null && child.signalCode === null) {
    // Kill every sandbox through the API first: the provider then releases
    // what a sandbox holds outside its bundle (its network namespace, the
    // loop-mounted home, its uid slice), which deleting the data dir cannot.
    try {
      const list = await api(daemon, 'GET', '/api/sandboxes?limit=1000');
      for (const s of list.body?.sandboxes ?? []) {
        if (s.status !== 'KILLED') await api(daemon, 'DELETE', `/api/projects/${s.projectId}/sandbox`);
      }
    } catch (err) {
      fs.appendFileSync(daemon.logFile, `[e2e] killing sandboxes before stop: ${err}\n`);
    }
    const termAt = Date.now();
    child.kill('SIGTERM');
    const killer = setTimeout(() => {
      const note = `sandboxd (pid ${child.pid}) still running 10 s after SIGTERM: sent SIGKILL\n`;
      process.stderr.write(note);
      fs.appendFileSync(daemon.logFile, `[e2e] ${note}`);
      child.kill('SIGKILL');
    }, 10_000);
    const { code, signal } = await daemon.exited;
    clearTimeout(killer);
    fs.appendFileSync(daemon.logFile, `[e2e] exited (code ${code}, signal ${signal}) ${Date.now() - termAt} ms after SIGTERM\n`);
  }
  try {
    removeContainersSync(daemon);
  } finally {
    fs.rmSync(daemon.dataDir, { recursive: true, force: true });
  }
}

/** One API call with the daemon's Bearer token. Resolves to {status, body, headers}. */
export async function api(daemon, method, urlPath, body, { timeoutMs = 15_000 } = {}) {
  const headers = { Authorization: `Bearer ${daemon.token}` };
  const init = { method, headers, signal: AbortSignal.timeout(timeoutMs) };
  if (body !== undefined) {
    headers['Content-Type'] = 'application/json';
    init.body = JSON.stringify(body);
  }
  let res;
  let text;
  try {
    res = await fetch(daemon.baseUrl + urlPath, init);
    text = await res.text();
  } catch (err) {
    const why = err?.name === 'TimeoutError' ? `no answer within ${timeoutMs} ms` : String(err?.cause ?? err);
    throw new Error(`sandboxd API ${method} ${urlPath}: ${why}`);
  }
  let json = null;
  try {
    json = text ? JSON.parse(text) : null;
  } catch {
    json = text;
  }
  return { status: res.status, body: json, headers: res.headers };
}

async function expectStatus(promise, expected, what) {
  const res = await promise;
  if (!expected.includes(res.status)) {
    throw new Error(`${what}: HTTP ${res.status} (expected ${expected.join(' or ')}): ${JSON.stringify(res.body)}`);
  }
  return res.body;
}

const projectPath = (projectId) => `/api/projects/${encodeURIComponent(projectId)}/sandbox`;

/** POST …/sandbox (201 RUNNING, waits until the app serves). */
export function createSandbox(daemon, projectId, idleTimeoutSeconds = IDLE_TIMEOUT_S) {
  return expectStatus(
    api(daemon, 'POST', projectPath(projectId), { idleTimeoutSeconds }),
    [201],
    `create ${projectId}`,
  );
}

export function getSandbox(daemon, projectId) {
  return expectStatus(api(daemon, 'GET', projectPath(projectId)), [200], `status of ${projectId}`);
}

export function wakeSandbox(daemon, projectId) {
  return expectStatus(api(daemon, 'POST', `${projectPath(projectId)}/wake`), [202], `wake ${projectId}`);
}

export async function getHistory(daemon, projectId) {
  const body = await expectStatus(api(daemon, 'GET', `${projectPath(projectId)}/history`), [200], `history of ${projectId}`);
  return body.events;
}

/**
 * Poll GET …/sandbox every `intervalMs` until `predicate(sandbox)`; resolves to {sandbox, at}
 * (`at` = Date.now() when it was first seen). Throws with the observed statuses on timeout.
 */
export async function waitForSandbox(daemon, projectId, predicate, { timeoutMs = 15_000, intervalMs = 100, what = 'condition' } = {}) {
  const start = Date.now();
  const seen = [];
  let slowestPollMs = 0; // the longest status read: a daemon that stalled answers late
  for (;;) {
    const asked = Date.now();
    const sandbox = await getSandbox(daemon, projectId);
    const at = Date.now();
    slowestPollMs = Math.max(slowestPollMs, at - asked);
    if (seen.length === 0 || seen[seen.length - 1].status !== sandbox.status) {
      seen.push({ status: sandbox.status, afterMs: at - start });
    }
    if (predicate(sandbox)) return { sandbox, at, slowestPollMs };
    if (at - start > timeoutMs) {
      throw new Error(
        `${projectId}: ${what} not reached within ${timeoutMs} ms; statuses seen: ${JSON.stringify(seen)}`,
      );
    }
    await sleep(intervalMs);
  }
}

/**
 * Watch this process's own event loop until the returned function is called; it returns how much
 * later than due a 50 ms timer fired at worst, in ms. A machine that stalls (a shared host, a
 * paused VM) stalls this process as much as the daemon, so timing checks add this to their slack.
 */
export function watchLoopLag(tickMs = 50) {
  let last = performance.now();
  let worst = 0;
  const timer = setInterval(() => {
    const now = performance.now();
    worst = Math.max(worst, now - last - tickMs);
    last = now;
  }, tickMs);
  return () => {
    clearInterval(timer);
    return Math.round(worst);
  };
}

export const waitForStatus = (daemon, projectId, status, options = {}) =>
  waitForSandbox(daemon, projectId, (s) => s.status === status, { what: `status ${status}`, ...options });

/**
 * Check the sandbox's status every `intervalMs` for `durationMs`; throws at the first sample that
 * is not `status` (with the elapsed time).
 */
export async function expectStatusFor(daemon, projectId, status, durationMs, intervalMs = 250) {
  const start = Date.now();
  let samples = 0;
  while (Date.now() - start < durationMs) {
    const s = await getSandbox(daemon, projectId);
    samples++;
    if (s.status !== status) {
      throw new Error(
        `${projectId} was ${s.status} ${Date.now() - start} ms into a ${durationMs} ms window in which it ` +
          `had to stay ${status} (sample ${samples}; pauseAt ${s.pauseAt}, lastActivityAt ${s.lastActivityAt})`,
      );
    }
    await sleep(intervalMs);
  }
  return samples;
}

/**
 * One GET through the preview gateway: to 127.0.0.1:<port of the preview URL> with the preview
 * host as Host (node does not resolve *.localhost the way browsers do). Resolves to
 * {status, headers, body}.
 */
export function previewGet(previewUrl, pathAndQuery = '/', { headers = {}, timeoutMs = 30_000 } = {}) {
  const url = new URL(previewUrl);
  return new Promise((resolve, reject) => {
    const req = http.request(
      {
        host: '127.0.0.1',
        port: Number(url.port || 80),
        path: pathAndQuery,
        method: 'GET',
        headers: { Host: url.host, ...headers },
        timeout: timeoutMs,
      },
      (res) => {
        let body = '';
        res.setEncoding('utf8');
        res.on('data', (chunk) => (body += chunk));
        res.on('end', () => resolve({ status: res.statusCode, headers: res.headers, body }));
      },
    );
    req.on('timeout', () => req.destroy(new Error(`GET ${previewUrl}${pathAndQuery.slice(1)}: no answer within ${timeoutMs} ms`)));
    req.on('error', reject);
    req.end();
  });
}

/** GET the app's /state (`{startedAt, requests}`) through the gateway (this is preview traffic). */
export async function appState(sandboxUrl) {
  const res = await previewGet(sandboxUrl, '/state', { timeoutMs: 30_000 });
  if (res.status !== 200) throw new Error(`GET ${sandboxUrl}state: HTTP ${res.status} ${res.body}`);
  return JSON.parse(res.body);
}

/**
 * Fail clearly if sandboxd stops answering (e.g. while a page holds an event stream open): one
 * GET …/sandbox that must answer within `timeoutMs`.
 */
export async function expectResponsive(daemon, projectId, context, timeoutMs = 5_000) {
  const start = Date.now();
  try {
    const res = await api(daemon, 'GET', projectPath(projectId), undefined, { timeoutMs });
    return { sandbox: res.body, latencyMs: Date.now() - start };
  } catch (err) {
    throw new Error(`sandboxd stopped answering ${context}: ${err.message}`);
  }
}
