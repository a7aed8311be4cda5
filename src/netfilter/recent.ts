/**
 * Per-network-namespace state of the xt_recent match (kube-proxy's ClientIP session affinity)
 * and of nfacct objects.
 *
 * Modelled on Linux xt_recent (as recalled, not re-verified for a specific kernel; the shape has
 * been stable since ~3.x):
 * - one list per --name, shared by every rule naming it; a list lives while some installed rule
 *   references it (Netfilter drops unreferenced lists at each COMMIT, as the kernel frees the
 *   table with its last rule);
 * - an entry per (masked) address, holding a ring of the last time stamps
 *   (ip_pkt_list_tot = 20, ring rounded up to 32) and its place in an LRU list;
 * - at most ip_list_tot = 100 entries per list: adding one more evicts the least recently
 *   updated entry;
 * - --reap removes at most the oldest (LRU-head) entry per evaluation, when it is older than
 *   --seconds and is not the entry being updated.
 * Times are simulated nanoseconds (the kernel uses jiffies; HZ granularity is not modelled).
 */

export const IP_LIST_TOT = 100;
export const IP_PKT_LIST_TOT = 20;
const STAMP_RING = 32; // roundup_pow_of_two(IP_PKT_LIST_TOT)

export class RecentEntry {
  readonly addr: number;
  readonly stamps = new Float64Array(STAMP_RING);
  /** Next slot to write (the kernel's e->index). */
  index = 0;
  nstamps = 0;
  prev: RecentEntry | null = null;
  next: RecentEntry | null = null;
  constructor(addr: number) {
    this.addr = addr;
  }
  /** Most recent stamp. */
  last(): number {
    return this.stamps[(this.index - 1 + STAMP_RING) % STAMP_RING]!;
  }
}

export class RecentList {
  readonly name: string;
  private readonly map = new Map<number, RecentEntry>();
  private head: RecentEntry | null = null; // least recently updated
  private tail: RecentEntry | null = null;
  constructor(name: string) {
    this.name = name;
  }

  get size(): number {
    return this.map.size;
  }

  lookup(addr: number): RecentEntry | undefined {
    return this.map.get(addr);
  }

  /** recent_entry_init: evicts the LRU head when the list is full. */
  add(addr: number, now: number): RecentEntry {
    if (this.map.size >= IP_LIST_TOT && this.head) this.remove(this.head);
    const e = new RecentEntry(addr);
    e.stamps[0] = now;
    e.index = 1;
    e.nstamps = 1;
    this.map.set(addr, e);
    this.linkTail(e);
    return e;
  }

  /** recent_entry_update: a new stamp, and the entry becomes the most recent. */
  update(e: RecentEntry, now: number): void {
    e.index %= STAMP_RING;
    e.stamps[e.index++] = now;
    if (e.index > e.nstamps) e.nstamps = e.index;
    this.unlink(e);
    this.linkTail(e);
  }

  remove(e: RecentEntry): void {
    this.unlink(e);
    this.map.delete(e.addr);
  }

  /** recent_entry_reap: drop the oldest entry when its last stamp is before `time`. */
  reap(time: number, working: RecentEntry, updating: boolean): void {
    const e = this.head;
    if (!e || (e === working && updating)) return;
    if (time > e.last()) this.remove(e);
  }

  /** Entries, least recently updated first (for listing, like /proc/net/xt_recent/NAME). */
  entries(): { addr: number; last: number; count: number }[] {
    const out: { addr: number; last: number; count: number }[] = [];
    for (let e = this.head; e; e = e.next) out.push({ addr: e.addr, last: e.last(), count: e.nstamps });
    return out;
  }

  clear(): void {
    this.map.clear();
    this.head = this.tail = null;
  }

  private linkTail(e: RecentEntry): void {
    e.prev = this.tail;
    e.next = null;
    if (this.tail) this.tail.next = e;
    else this.head = e;
    this.tail = e;
  }

  private unlink(e: RecentEntry): void {
    if (e.prev) e.prev.next = e.next;
    else this.head = e.next;
    if (e.next) e.next.prev = e.prev;
    else this.tail = e.prev;
    e.prev = e.next = null;
  }
}

/** An nfacct object: packet and byte counts of the rules that name it. */
export interface NfacctCounter {
  pkts: number;
  bytes: number;
}

/** What compiled matches may reach in their Netfilter instance. */
export interface MatchEnv {
  recent(name: string): RecentList;
  nfacct(name: string): NfacctCounter;
}
