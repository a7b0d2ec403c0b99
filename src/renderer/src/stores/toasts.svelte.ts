/** Short messages in a corner: errors stay until dismissed, notes go by themselves. */
import { describeError } from '../lib/errors';

export interface Toast {
  id: number;
  kind: 'error' | 'info';
  text: string;
}

const MAX = 4;
const INFO_MS = 5000;

class Toasts {
  items = $state<Toast[]>([]);
  private next = 1;

  error(e: unknown): void {
    this.push('error', describeError(e));
  }

  info(text: string): void {
    const id = this.push('info', text);
    setTimeout(() => this.dismiss(id), INFO_MS);
  }

  dismiss(id: number): void {
    this.items = this.items.filter((t) => t.id !== id);
  }

  private push(kind: Toast['kind'], text: string): number {
    // The same error twice in a row (a retry loop) is shown once.
    const last = this.items.at(-1);
    if (last && last.kind === kind && last.text === text) return last.id;
    const id = this.next++;
    this.items = [...this.items, { id, kind, text }].slice(-MAX);
    return id;
  }
}

export const toasts = new Toasts();
