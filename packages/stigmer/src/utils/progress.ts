import { logger } from '@nx/devkit';

/** Prints each phase of a long step with its duration, e.g. `[stigmer] analyse: 5.2s`. */
export class Progress {
  private readonly started = Date.now();
  private current?: { name: string; start: number };
  readonly durations: Record<string, number> = {};

  constructor(private readonly label: string) {}

  phase(name: string): void {
    this.end();
    this.current = { name, start: Date.now() };
    logger.info(`[${this.label}] ${name}...`);
  }

  end(): void {
    if (!this.current) return;
    const ms = Date.now() - this.current.start;
    this.durations[this.current.name] = ms;
    logger.info(`[${this.label}] ${this.current.name}: ${formatSeconds(ms)}`);
    this.current = undefined;
  }

  get totalMs(): number {
    return Date.now() - this.started;
  }
}

export function formatSeconds(ms: number): string {
  return `${(ms / 1000).toFixed(1)}s`;
}

export function formatSize(bytes: number): string {
  return bytes >= 1024 * 1024 ? `${(bytes / 1024 / 1024).toFixed(1)} MB` : `${(bytes / 1024).toFixed(1)} KB`;
}
