/** Safe output writing: see safe-write.ts. */
export * from './safe-write';
export { verifySgai, verifyImage, type ExpectedImage } from './verify';
export { writeError, plainReason } from './write-errors';
