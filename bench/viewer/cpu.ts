/**
 * CPU time, so a measure taken on a shared machine can be read apart from the load: this process
 * (all its threads: V8, libuv's sharp workers, ONNX Runtime) and the processes it started (the
 * engine's decoder), from /proc on Linux. Wall time is what a photographer waits; CPU time is
 * about what the same work takes on an idle core.
 */
import { readdirSync, readFileSync } from 'node:fs';

/** Clock ticks per second of /proc/<pid>/stat's utime and stime (USER_HZ: 100 on Linux). */
const TICKS = 100;

function childPids(pid: number): number[] {
  try {
    return readdirSync(`/proc/${pid}/task`).flatMap((tid) =>
      readFileSync(`/proc/${pid}/task/${tid}/children`, 'utf8').trim().split(/\s+/).filter(Boolean).map(Number));
  } catch {
    return [];
  }
}

/** utime + stime of one process, in seconds (0 when it is gone). */
function processCpu(pid: number): number {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    // Fields after the command name, which is in parentheses and may hold spaces: state is field 3, utime 14, stime 15.
    const rest = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    return (Number(rest[11]) + Number(rest[12])) / TICKS;
  } catch {
    return 0;
  }
}

/** This process's CPU seconds, and its descendants' while they run (null where /proc is not there). */
export function cpuNow(): { self: number; children: number | null } {
  const u = process.cpuUsage();
  const self = (u.user + u.system) / 1e6;
  if (!existsProc()) return { self, children: null };
  let children = 0;
  const walk = (pid: number) => {
    for (const c of childPids(pid)) {
      children += processCpu(c);
      walk(c);
    }
  };
  walk(process.pid);
  return { self, children };
}

function existsProc(): boolean {
  try {
    readFileSync(`/proc/${process.pid}/stat`);
    return true;
  } catch {
    return false;
  }
}

/** CPU milliseconds between two readings, this process and its children together (children unknown: this process only). */
export function cpuMsBetween(a: ReturnType<typeof cpuNow>, b: ReturnType<typeof cpuNow>): number {
  const children = a.children === null || b.children === null ? 0 : b.children - a.children;
  return (b.self - a.self + children) * 1000;
}
