// Package wal frames, writes and replays the write-ahead log of a branch:
// records with length and CRC32C in segments written put-if-absent.
package wal
