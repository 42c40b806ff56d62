/** Bytes a text costs in memory (UTF-16, plus the string's header). */
export const textCost = (text: string) => 2 * text.length + 16;

/**
 * Texts the view had let go that readers then needed, kept under a small budget of their own,
 * least recently read going first. The first read of an old page pays one store read; a reader
 * paging back and forth, or many readers of the same old thread, then read memory.
 *
 * It holds only texts of posts that are neither deleted nor held by the view (the view forgets
 * an id when its post changes), so a text here is the one the store holds.
 */
export class RecentTexts {
  /** In Map order: least recently read first. */
  private readonly texts = new Map<number, string>();
  private heldBytes = 0;

  constructor(private readonly budgetBytes: number) {}

  /** The text of post `id` when it is held, marking it as just read. */
  get(id: number): string | undefined {
    const text = this.texts.get(id);
    if (text !== undefined) {
      this.texts.delete(id);
      this.texts.set(id, text);
    }
    return text;
  }

  /** Keeps `text` as post `id`'s, letting go of the least recently read beyond the budget. */
  remember(id: number, text: string): void {
    this.forget(id);
    const cost = textCost(text);
    if (cost > this.budgetBytes) return;
    this.texts.set(id, text);
    this.heldBytes += cost;
    for (const [oldest, old] of this.texts) {
      if (this.heldBytes <= this.budgetBytes) break;
      this.texts.delete(oldest);
      this.heldBytes -= textCost(old);
    }
  }

  forget(id: number): void {
    const text = this.texts.get(id);
    if (text === undefined) return;
    this.texts.delete(id);
    this.heldBytes -= textCost(text);
  }

  clear(): void {
    this.texts.clear();
    this.heldBytes = 0;
  }

  get size(): number {
    return this.texts.size;
  }

  get bytes(): number {
    return this.heldBytes;
  }
}
