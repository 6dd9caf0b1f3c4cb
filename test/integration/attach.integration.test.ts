/**
 * `leak-agent attach` on real running processes: a service started with `--inspect=127.0.0.1:0` (and one
 * without an inspector, reached with `--pid`) leaks at marked lines after the probe appears; the report
 * names those lines; afterwards the service is as it was (probe gone, every patched function the original
 * again, checked through a second inspector connection), keeps running, and exits with its own code.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn, type ChildProcess } from 'node:child_process';
import { createServer } from 'node:net';
import { join } from 'node:path';
import type { Report } from '../../collector/report-model';
import { RemoteCdpClient } from '../../agent/cdp/remote-transport';
import { ROOT, CLI, runProcess, cleanEnv, assertContract, assertFindingsMatchMarkers } from './harness';

const SERVICE = join(ROOT, 'test', 'fixtures', 'attach', 'service.js');

interface Service {
  child: ChildProcess;
  stdout: () => string;
  stderr: () => string;
  exited: Promise<number | null>;
}

/** Starts the service; resolves once `ready(stderr)` says so (or rejects if it exits first). */
function startService(execArgv: string[], ready: (stderr: string) => boolean): Promise<Service> {
  const child = spawn(process.execPath, [...execArgv, SERVICE], { cwd: ROOT, env: cleanEnv(), stdio: ['ignore', 'pipe', 'pipe'] });
  let out = '';
  let err = '';
  child.stdout!.setEncoding('utf8').on('data', (d: string) => (out += d));
  const exited = new Promise<number | null>((resolve) => child.on('exit', (code) => resolve(code)));
  return new Promise((resolve, reject) => {
    const check = (): void => {
      if (ready(err)) resolve({ child, stdout: () => out, stderr: () => err, exited });
    };
    child.stderr!.setEncoding('utf8').on('data', (d: string) => {
      err += d;
      check();
    });
    check();
    exited.then((code) => reject(new Error(`service exited (${code}) before it was ready: ${err}`)));
  });
}

/** What `__attachCheck()` in the service says, read through a second, short inspector connection. */
async function checkService(url: string): Promise<{ probe: string; changed: string[]; globals: string[]; leaked: boolean }> {
  const cdp = await RemoteCdpClient.connect(url);
  try {
    const { result } = await cdp.send('Runtime.evaluate', { expression: '__attachCheck()', returnByValue: true });
    return JSON.parse(result.value as string);
  } finally {
    await cdp.close();
  }
}

function attach(args: string[]): ReturnType<typeof runProcess> {
  return runProcess(process.execPath, [CLI, 'attach', ...args], { env: cleanEnv(), killAfterMs: 20_000 });
}

function parseReport(ran: { stdout: string; stderr: string; code: number | null }): Report {
  try {
    return JSON.parse(ran.stdout) as Report;
  } catch {
    throw new Error(`attach --json printed no report (exit ${ran.code}):\nstdout: ${ran.stdout}\nstderr: ${ran.stderr}`);
  }
}

/** The rest of both attach tests: the lines, the state left behind, the service's own exit. */
async function assertAttachedAndLeftAsItWas(service: Service, ran: Awaited<ReturnType<typeof attach>>, url: string): Promise<void> {
  assert.equal(ran.code, 0, ran.stderr);
  const report = parseReport(ran);
  assertContract(report);
  assert.equal(report.reason, 'request');
  assert.equal(report.process?.pid, service.child.pid);
  assertFindingsMatchMarkers(report, [SERVICE]);
  assert.ok(report.notices.some((n) => n.includes('created before the attach are not tracked')), report.notices.join('\n'));
  assert.ok(report.notices.some((n) => n.includes('Runtime.queryObjects census')), report.notices.join('\n'));
  assert.match(ran.stderr, /detached: patches restored, probe removed/);

  const check = await checkService(url);
  assert.deepEqual(check, { probe: 'undefined', changed: [], globals: [], leaked: true });

  // Still running normally: it cleans up on its signal and exits with its own code.
  service.child.kill('SIGUSR2');
  assert.equal(await service.exited, 7, service.stderr());
  assert.match(service.stdout(), /leaked\nclean\n/);
  assert.doesNotMatch(service.stderr(), /Waiting for the debugger/);
}

test('attach ws-url: exact lines of leaks made after the attach; the service is left as it was and exits with its own code', async () => {
  const service = await startService(['--inspect=127.0.0.1:0'], (err) => /Debugger listening on ws:\/\/127\.0\.0\.1:\d+\//.test(err));
  try {
    const url = /Debugger listening on (ws:\/\/\S+)/.exec(service.stderr())![1];
    const ran = await attach([url, '--duration', '2', '--json', '--threshold', '500']);
    const report = parseReport(ran);
    // Retainers come from the snapshot streamed over CDP.
    const pool = report.findings.find((f) => f.resource === 'pool');
    assert.ok(pool?.retainers?.some((s) => s.name.includes('variable pool')), JSON.stringify(pool?.retainers));
    await assertAttachedAndLeftAsItWas(service, ran, url);
  } finally {
    service.child.kill('SIGKILL');
  }
});

test('attach --pid: opens the inspector of a process started without one, reports, and closes it again', async () => {
  const port = await freePort();
  const service = await startService([`--inspect-port=127.0.0.1:${port}`], () => true);
  try {
    const ran = await attach(['--pid', String(service.child.pid), '--inspect-port', String(port), '--duration', '2', '--json', '--threshold', '500', '--no-snapshot']);
    const report = parseReport(ran);
    assert.ok(report.findings.every((f) => f.retainers === undefined));
    // The check needs the inspector again: open it the same way, then it is ours to leave open.
    const url = await reopen(service.child.pid!, port, ran.stderr);
    await assertAttachedAndLeftAsItWas(service, ran, url);
  } finally {
    service.child.kill('SIGKILL');
  }
});

test('attach to an address with no inspector: coded error, exit 69, no hang', async () => {
  const port = await freePort();
  const ran = await attach([`127.0.0.1:${port}`, '--json', '--duration', '1']);
  assert.equal(ran.code, 69, ran.stderr);
  assert.equal(JSON.parse(ran.stdout).error.code, 'LEAK_AGENT_UNREACHABLE');
  const dead = await attach(['--pid', '999999', '--json']);
  assert.equal(dead.code, 69, dead.stderr);
});

test('attach refuses a non-loopback host (exit 64) and says how to tunnel', async () => {
  const ran = await attach(['10.1.2.3:9229', '--json']);
  assert.equal(ran.code, 64, ran.stderr);
  assert.equal(JSON.parse(ran.stdout).error.code, 'LEAK_AGENT_INVALID_ARGUMENT');
  assert.match(ran.stderr, /ssh -N -L 9229:127\.0\.0\.1:9229/);
});

/** A port nothing listens on (bound and released). */
function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.listen(0, '127.0.0.1', () => {
      const { port } = server.address() as { port: number };
      server.close(() => resolve(port));
    });
    server.on('error', reject);
  });
}

/**
 * After a `--pid` attach the inspector it opened is closed again by the service (asserted through the
 * "Debugger ending" line): opens it once more for the check, and returns its ws URL.
 */
async function reopen(pid: number, port: number, attachStderr: string): Promise<string> {
  assert.match(attachStderr, /the inspector --pid opened closes in the target/);
  for (let i = 0; i < 100; i++) {
    const listed = await fetchList(port);
    if (listed === null) break;
    await new Promise((r) => setTimeout(r, 20));
  }
  assert.equal(await fetchList(port), null, 'the inspector --pid opened is closed after detach');
  (process as unknown as { _debugProcess(pid: number): void })._debugProcess(pid);
  for (let i = 0; i < 100; i++) {
    const url = await fetchList(port);
    if (url) return url;
    await new Promise((r) => setTimeout(r, 20));
  }
  throw new Error('the inspector did not open again');
}

async function fetchList(port: number): Promise<string | null> {
  const { get } = await import('node:http');
  return new Promise((resolve) => {
    get({ host: '127.0.0.1', port, path: '/json/list', timeout: 1000 }, (res) => {
      let body = '';
      res.setEncoding('utf8').on('data', (d: string) => (body += d));
      res.on('end', () => {
        try {
          resolve((JSON.parse(body) as Array<{ webSocketDebuggerUrl: string }>)[0].webSocketDebuggerUrl);
        } catch {
          resolve(null);
        }
      });
    }).on('error', () => resolve(null));
  });
}
