/** A bad inventory: the message names the file and each bad field by path. */
export class InventoryError extends Error {
  constructor(
    message: string,
    readonly source: string,
  ) {
    super(message);
    this.name = 'InventoryError';
  }
}
