/**
 * Server applications that run in pods, as the scenario maps container images to them:
 *
 * - serve_hostname (k8s.gcr.io/serve_hostname, port 9376): answers every HTTP request with the
 *   pod's hostname, i.e. the pod name.
 * - http-echo: answers with what it saw — the client address and port as seen by the pod (after
 *   any SNAT/MASQUERADE on the way), the method and the path — preceded by its `text` line when
 *   one is configured (hashicorp/http-echo's -text).
 *
 * The service time of each request (from accepting the request to writing the response) is drawn
 * from the pod's own stream `app/<pod>` with the configured distribution. Requests on one
 * connection are served in order (HTTP/1.1, no pipelining); a "hung" app never answers.
 * Response sizes follow a Go net/http reply: status line, Date, Content-Length, Content-Type.
 *
 * Lifecycle (one PodApp per container process; the run core drives it from the pod's runtime):
 * - drain(): SIGTERM handling of a Go net/http server calling Server.Shutdown — the caller closes
 *   the listener (new connections are refused by the kernel); idle keep-alive connections are
 *   closed at once; a request in progress is answered with "Connection: close" and its connection
 *   closed after the response.
 * - kill(): the process is gone; answers still being prepared are never sent (the kernel closes
 *   the sockets, see TcpHost.closeServerConnections).
 */
import type { Simulation } from "../engine/sim.ts";
import type { SimTime } from "../engine/time.ts";
import type { Stream } from "../engine/rng.ts";
import { formatIPv4 } from "../net/ip.ts";
import type { Conn, ServerApp } from "./tcp.ts";
import type { RequestMeta, ResponseMeta } from "./types.ts";

export type AppKind = "serve_hostname" | "http-echo";

/** Service time distribution (the scenario's ServiceTime has this shape; durations in ns). */
export type ServiceTimeSpec =
  | { readonly distribution: "constant"; readonly valueNs: SimTime }
  | { readonly distribution: "exponential"; readonly meanNs: SimTime }
  | { readonly distribution: "lognormal"; readonly medianNs: SimTime; readonly sigma: number }
  | { readonly distribution: "uniform"; readonly minNs: SimTime; readonly maxNs: SimTime };

export const ZERO_SERVICE_TIME: ServiceTimeSpec = { distribution: "constant", valueNs: 0 };

/** Draws one service time (integer ns). Constant times draw nothing from the stream. */
export function drawServiceTime(spec: ServiceTimeSpec, rng: Stream): SimTime {
  switch (spec.distribution) {
    case "constant":
      return spec.valueNs;
    case "exponential":
      return Math.round(rng.exponential(spec.meanNs));
    case "lognormal":
      return Math.round(rng.lognormal(Math.log(spec.medianNs), spec.sigma));
    case "uniform":
      return spec.minNs + Math.round(rng.next() * (spec.maxNs - spec.minNs));
  }
}

/** Default listening port of each app (used when the container declares no TCP port). */
export const APP_DEFAULT_PORT: Readonly<Record<AppKind, number>> = { serve_hostname: 9376, "http-echo": 5678 };

/** Bytes of a Go net/http response header for a text/plain body of n bytes. */
function responseHeaderLen(bodyLen: number): number {
  // "HTTP/1.1 200 OK\r\n" 17 + "Date: Mon, 02 Jan 2006 15:04:05 GMT\r\n" 37 +
  // "Content-Length: N\r\n" 18+digits + "Content-Type: text/plain; charset=utf-8\r\n" 41 + "\r\n" 2
  return 17 + 37 + 18 + String(bodyLen).length + 41 + 2;
}

/** Shared by all app instances of a run: the respond event kind. */
export class AppRuntime {
  readonly sim: Simulation;
  readonly kRespond: number;
  constructor(sim: Simulation) {
    this.sim = sim;
    this.kRespond = sim.register("app.respond", (_s, _n, obj) => {
      const p = obj as PendingResponse;
      p.app.respond(p);
    });
  }
}

interface PendingResponse {
  readonly app: PodApp;
  readonly conn: Conn;
  readonly req: RequestMeta;
}

/** One app instance in one pod, bound to one or more ports. */
export class PodApp implements ServerApp {
  readonly kind: AppKind;
  readonly pod: string;
  readonly podAddr: number;
  private readonly rt: AppRuntime;
  private readonly serviceTime: ServiceTimeSpec;
  /** The app's service-time stream, or a function making it (called on the first request). */
  private rng: Stream | (() => Stream);
  private readonly text: string | undefined;
  /** A hung app accepts connections and reads requests but never answers. */
  hung = false;
  /** SIGTERM received: finishing in-flight requests, closing connections after them. */
  draining = false;
  /** The process exited: nothing more is sent. */
  dead = false;
  served = 0;

  constructor(rt: AppRuntime, kind: AppKind, pod: string, podAddr: number, serviceTime: ServiceTimeSpec, rng: Stream | (() => Stream), text?: string) {
    this.rt = rt;
    this.kind = kind;
    this.pod = pod;
    this.podAddr = podAddr;
    this.serviceTime = serviceTime;
    this.rng = rng;
    this.text = text;
  }

  onRequest(conn: Conn, req: RequestMeta): void {
    if (this.hung || this.dead) return;
    const rng = typeof this.rng === "function" ? (this.rng = this.rng()) : this.rng;
    const delay = drawServiceTime(this.serviceTime, rng);
    this.rt.sim.scheduleIn(delay, this.rt.kRespond, 0, { app: this, conn, req } satisfies PendingResponse);
  }

  /**
   * Server.Shutdown: from now on every response carries "Connection: close" and its connection is
   * closed after it; connections idle now (no request being served) are closed at once.
   */
  drain(conns: readonly Conn[]): void {
    this.draining = true;
    for (const c of conns) if (c.app === this && !c.responsePending) c.close();
  }

  /** The process exited (SIGKILL, crash, or its own exit after draining). */
  kill(): void {
    this.dead = true;
  }

  respond(p: PendingResponse): void {
    if (this.hung || this.dead) return;
    const c = p.conn;
    let body: string;
    if (this.kind === "serve_hostname") body = this.pod;
    else {
      const saw = `client_address=${formatIPv4(c.remoteAddr)}:${c.remotePort}\nmethod=${p.req.method}\npath=${p.req.path}`;
      body = this.text !== undefined ? `${this.text}\n${saw}` : saw;
    }
    // Two literals rather than a conditional spread (one response per request); same keys, same order.
    const resp: ResponseMeta = this.draining
      ? { kind: "response", requestId: p.req.id, status: 200, body, servedBy: this.pod, endpointAddr: this.podAddr, endpointPort: c.localPort, seenSrc: c.remoteAddr, seenSport: c.remotePort, close: true }
      : { kind: "response", requestId: p.req.id, status: 200, body, servedBy: this.pod, endpointAddr: this.podAddr, endpointPort: c.localPort, seenSrc: c.remoteAddr, seenSport: c.remotePort };
    this.served++;
    // Bodies end with a newline on the wire (serve_hostname writes "name\n"); "Connection: close\r\n" is 19 bytes.
    const bodyLen = body.length + 1;
    c.sendResponse(resp, responseHeaderLen(bodyLen) + bodyLen + (this.draining ? 19 : 0));
    if (this.draining) c.close();
  }
}
