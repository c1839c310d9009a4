/**
 * Learning-rate schedule: linear warmup, then cosine decay to a floor (nanoGPT's get_lr, made
 * 0-based). `step` is the index of the optimizer update about to be taken (0 for the first).
 *
 *   step < warmup:            lr * (step + 1) / warmup
 *   warmup <= step < total:   minLr + 0.5 (lr - minLr) (1 + cos(pi * (step - warmup) / (total - warmup)))
 *   step >= total:            minLr
 */
export interface ScheduleConfig {
  /** Peak learning rate, reached at the end of warmup. */
  lr: number;
  /** Warmup updates (0 = start at the peak). */
  warmup: number;
  /** Total updates of the run; the cosine reaches the floor here. */
  total: number;
  /** Floor as a fraction of the peak (0.1 = decay to lr / 10). */
  minLrRatio: number;
}

export function learningRate(cfg: ScheduleConfig, step: number): number {
  const minLr = cfg.lr * cfg.minLrRatio;
  if (step < cfg.warmup) return (cfg.lr * (step + 1)) / cfg.warmup;
  if (step >= cfg.total) return minLr;
  const span = cfg.total - cfg.warmup;
  const progress = span > 0 ? (step - cfg.warmup) / span : 1;
  return minLr + 0.5 * (cfg.lr - minLr) * (1 + Math.cos(Math.PI * progress));
}
