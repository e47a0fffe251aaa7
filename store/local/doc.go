// Package local is the default store: objects are files below a root
// directory, named by their slash-separated object names.
//
// Every write is atomic and durable, and its conditions hold across
// processes that share the directory:
//
//	Put(name, r)                      Put(name, r, IfAbsent())
//	  write root/.lakesql-tmp/put-N     write root/.lakesql-tmp/put-N
//	  fsync, record ETag (xattr)        fsync, record ETag (xattr)
//	  flock the current file (if any)   link(tmp, name)   EEXIST -> same inode? ours : lost
//	  IfMatch: compare its ETag         unlink tmp
//	  rename(tmp, name)                 fsync the directory
//	  unlock, fsync the directory
//
// A compare-and-swap (IfMatch) locks the file it replaces with flock(2) and
// re-checks, after the lock is granted, that the locked inode is still the one
// at the name; Delete and unconditional puts take the same lock, so a
// compare-and-swap never overwrites a change it did not see.
//
// ETags are the MD5 of the content, computed while writing and kept in the
// extended attribute user.lakesql.etag; on a file system without extended
// attributes they are computed from the content when asked for.
//
// OpenReadOnly opens a directory lakesql does not own (an external container
// of data files) without creating anything in it; its writes fail. Such
// files have no ETag attribute: their ETag is the MD5 of their content,
// computed at each Open or Stat. OpenExpect (store.CheckedOpener) compares
// the size and modification time first, and fstats the file after every
// read of the object it returns, since a file can be rewritten in place
// while it is open.
//
// A directory cannot be an object: a store cannot hold both "a" and "a/b".
// lakesql's layout never needs that.
package local
