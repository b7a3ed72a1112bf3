package audit

// ChunkSize exposes how Verify divides the chain, for the tests that damage
// the chain where one chunk ends and the next begins.
var ChunkSize = chunkSize
