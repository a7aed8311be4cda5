/**
 * Headless Chromium for report tests, driven over the DevTools protocol on a pipe
 * (--remote-debugging-pipe: fd 3 carries commands to the browser, fd 4 its replies and events,
 * each message JSON terminated by a NUL byte) — no playwright, no WebSocket client needed.
 *
 * ensureChromium() installs Debian's `chromium` package when /usr/bin/chromium is missing, so
 * `npm test` works on a fresh machine. loadFile() opens a file with the network emulated offline
 * and every non-file/data request failed, and collects console errors, uncaught exceptions, log
 * errors (CSP violations, failed loads) and the requests the page tried to make.
 */
import { execFileSync, spawn } from "node:child_process";
import { existsSync, mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { pathToFileURL } from "node:url";

export const CHROMIUM = "/usr/bin/chromium";

export function ensureChromium(): string {
  if (existsSync(CHROMIUM)) return CHROMIUM;
  const sudo = process.getuid && process.getuid() !== 0 ? ["sudo"] : [];
  const run = (args: string[]) => {
    const [cmd, ...rest] = [...sudo, ...args];
    execFileSync(cmd!, rest, { stdio: "inherit", env: { ...process.env, DEBIAN_FRONTEND: "noninteractive" } });
  };
  run(["apt-get", "update", "-qq"]);
  run(["apt-get", "install", "-y", "-qq", "chromium"]);
  if (!existsSync(CHROMIUM)) throw new Error("chromium: apt-get install chromium did not provide /usr/bin/chromium");
  return CHROMIUM;
}

export interface PageLoad {
  /** console.error calls, uncaught exceptions and error-level log entries. */
  errors: string[];
  /** URLs the page requested (the document itself excluded). */
  requests: string[];
  /** Evaluated in the page after load. */
  value: unknown;
}

/** Opens `file` in headless Chromium, offline; evaluates `expression` after the load event. */
export async function loadFile(file: string, expression: string, timeoutMs = 25_000): Promise<PageLoad> {
  const bin = ensureChromium();
  const profile = mkdtempSync(join(tmpdir(), "svcsim-chromium-"));
  const child = spawn(
    bin,
    [
      "--headless",
      "--no-sandbox",
      "--disable-gpu",
      "--disable-background-networking",
      "--disable-component-update",
      "--disable-sync",
      "--disable-extensions",
      "--disable-default-apps",
      "--no-first-run",
      "--no-default-browser-check",
      "--host-resolver-rules=MAP * ~NOTFOUND",
      `--user-data-dir=${profile}`,
      "--remote-debugging-pipe",
      "about:blank",
    ],
    { stdio: ["ignore", "ignore", "pipe", "pipe", "pipe"] },
  );
  const toBrowser = child.stdio[3] as NodeJS.WritableStream;
  const fromBrowser = child.stdio[4] as NodeJS.ReadableStream;
  let stderr = "";
  child.stderr!.on("data", (d: Buffer) => (stderr += d.toString()));

  let nextId = 1;
  const pending = new Map<number, { resolve: (v: any) => void; reject: (e: Error) => void }>();
  const listeners: ((msg: any) => void)[] = [];
  let buf = "";
  fromBrowser.on("data", (d: Buffer) => {
    buf += d.toString("utf8");
    let i: number;
    while ((i = buf.indexOf("\0")) >= 0) {
      const msg = JSON.parse(buf.slice(0, i));
      buf = buf.slice(i + 1);
      if (msg.id !== undefined && pending.has(msg.id)) {
        const p = pending.get(msg.id)!;
        pending.delete(msg.id);
        if (msg.error) p.reject(new Error(`CDP ${JSON.stringify(msg.error)}`));
        else p.resolve(msg.result);
      } else for (const l of listeners) l(msg);
    }
  });
  const send = (method: string, params: object = {}, sessionId?: string): Promise<any> =>
    new Promise((resolve, reject) => {
      const id = nextId++;
      pending.set(id, { resolve, reject });
      toBrowser.write(JSON.stringify({ id, method, params, ...(sessionId ? { sessionId } : {}) }) + "\0");
    });

  const errors: string[] = [];
  const requests: string[] = [];
  const url = pathToFileURL(file).href;
  let timer: NodeJS.Timeout | undefined;
  try {
    const work = (async () => {
      const { targetId } = await send("Target.createTarget", { url: "about:blank" });
      const { sessionId } = await send("Target.attachToTarget", { targetId, flatten: true });
      let loaded!: () => void;
      const loadedP = new Promise<void>((r) => (loaded = r));
      listeners.push((msg) => {
        if (msg.sessionId !== sessionId) return;
        const p = msg.params;
        if (msg.method === "Runtime.consoleAPICalled" && (p.type === "error" || p.type === "assert")) errors.push(`console.${p.type}: ${p.args.map((a: any) => a.value ?? a.description ?? "").join(" ")}`);
        else if (msg.method === "Runtime.exceptionThrown") errors.push(`exception: ${p.exceptionDetails?.exception?.description ?? p.exceptionDetails?.text}`);
        else if (msg.method === "Log.entryAdded" && p.entry.level === "error") errors.push(`log ${p.entry.source}: ${p.entry.text}${p.entry.url ? ` (${p.entry.url})` : ""}`);
        else if (msg.method === "Network.requestWillBeSent" && p.request.url !== url) requests.push(p.request.url.slice(0, 120));
        else if (msg.method === "Page.loadEventFired") loaded();
      });
      await send("Runtime.enable", {}, sessionId);
      await send("Log.enable", {}, sessionId);
      await send("Network.enable", {}, sessionId);
      await send("Network.emulateNetworkConditions", { offline: true, latency: 0, downloadThroughput: -1, uploadThroughput: -1 }, sessionId);
      await send("Page.enable", {}, sessionId);
      await send("Page.navigate", { url }, sessionId);
      await loadedP;
      const r = await send("Runtime.evaluate", { expression, returnByValue: true, awaitPromise: true }, sessionId);
      if (r.exceptionDetails) throw new Error(`evaluate: ${r.exceptionDetails.text}`);
      return r.result.value as unknown;
    })();
    const timeout = new Promise<never>((_, reject) => {
      timer = setTimeout(() => reject(new Error(`chromium: no load within ${timeoutMs} ms; stderr:\n${stderr.slice(-2000)}`)), timeoutMs);
    });
    const value = await Promise.race([work, timeout]);
    return { errors, requests, value };
  } finally {
    if (timer) clearTimeout(timer);
    try {
      toBrowser.write(JSON.stringify({ id: nextId++, method: "Browser.close", params: {} }) + "\0");
    } catch {
      /* already gone */
    }
    await new Promise<void>((resolve) => {
      const t = setTimeout(() => {
        child.kill("SIGKILL");
        resolve();
      }, 3000);
      child.once("exit", () => {
        clearTimeout(t);
        resolve();
      });
      if (child.exitCode !== null) {
        clearTimeout(t);
        resolve();
      }
    });
    rmSync(profile, { recursive: true, force: true });
  }
}
