import { log } from './log.js';

/**
 * Progress for long work: a redrawn bar with rate and ETA on a TTY, plain periodic lines otherwise
 * (CI logs, pipes). Library code creates one through a callback the caller passes in, so that
 * library functions never print by themselves; the CLI passes `createProgress`.
 */
export interface Progress {
  /** Advance by `n` units; `info` is shown after the bar (e.g. "loss 2.31"). */
  tick(n?: number, info?: string): void;
  done(info?: string): void;
}

export type ProgressFactory = (label: string, total: number, unit?: string) => Progress;

export const noProgress: ProgressFactory = () => ({ tick() {}, done() {} });

function fmtDuration(s: number): string {
  if (!Number.isFinite(s)) return '?';
  if (s < 60) return `${s.toFixed(0)}s`;
  if (s < 3600) return `${Math.floor(s / 60)}m${String(Math.round(s % 60)).padStart(2, '0')}s`;
  return `${Math.floor(s / 3600)}h${String(Math.round((s % 3600) / 60)).padStart(2, '0')}m`;
}

export const createProgress: ProgressFactory = (label, total, unit = 'it') => {
  const tty = Boolean(process.stderr.isTTY);
  const start = Date.now();
  let count = 0;
  let lastPrint = 0;
  const line = (info?: string): string => {
    const el = (Date.now() - start) / 1000;
    const rate = count / Math.max(el, 1e-9);
    const eta = (total - count) / Math.max(rate, 1e-9);
    const pct = total > 0 ? Math.min(1, count / total) : 0;
    const width = 24;
    const bar = '#'.repeat(Math.round(pct * width)).padEnd(width, '.');
    const rateStr = rate >= 100 ? rate.toFixed(0) : rate.toFixed(2);
    return `${label} [${bar}] ${count}/${total} ${rateStr} ${unit}/s ETA ${fmtDuration(eta)}${info ? ' ' + info : ''}`;
  };
  return {
    tick(n = 1, info) {
      count += n;
      const now = Date.now();
      if (tty) {
        if (now - lastPrint > 100 || count >= total) {
          process.stderr.write('\r' + line(info).slice(0, (process.stderr.columns ?? 120) - 1) + '\x1b[K');
          lastPrint = now;
        }
      } else if (now - lastPrint > 10_000 || count >= total) {
        log(line(info));
        lastPrint = now;
      }
    },
    done(info) {
      if (tty) process.stderr.write('\r' + line(info) + '\x1b[K\n');
      else log(line(info) + ` done in ${fmtDuration((Date.now() - start) / 1000)}`);
    },
  };
};
