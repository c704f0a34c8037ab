package jobs

import (
	"strings"
	"testing"
)

// sampleSmaps is /proc/PID/smaps cut down to the lines parseSmaps reads.
const sampleSmaps = `00400000-00c00000 r-xp 00000000 fd:01 1234 /opt/dermq/dermq
Rss:                6144 kB
Anonymous:             0 kB
VmFlags: rd ex mr mw me
00c00000-01600000 r--p 00800000 fd:01 1234 /opt/dermq/dermq
Rss:                4096 kB
Anonymous:             0 kB
VmFlags: rd mr mw me
01600000-01700000 rw-p 01200000 fd:01 1234 /opt/dermq/dermq
Rss:                 300 kB
Anonymous:           100 kB
VmFlags: rd wr mr mw me ac
7f0000000000-7f0001000000 r--p 00000000 fd:01 99 /opt/my libs/libonnxruntime.so.1 (deleted)
Rss:                2048 kB
Anonymous:             0 kB
VmFlags: rd mr mw me
7f0001000000-7f0001080000 r--p 01000000 fd:01 99 /opt/my libs/libonnxruntime.so.1 (deleted)
Rss:                 512 kB
Anonymous:           512 kB
VmFlags: rd mr mw me ac
7f0002000000-7f0002100000 r-xp 00000000 fd:01 77 /usr/lib/libc.so.6
Rss:                1024 kB
Anonymous:             0 kB
VmFlags: rd ex mr mw me lo
7f0003000000-7f0003100000 r--s 00000000 00:05 12 /dev/shm/segment
Rss:                1024 kB
Anonymous:             0 kB
VmFlags: rd sh mr mw me ms
7f0004000000-7f0004100000 r-xp 00000000 fd:01 78 /usr/lib/libm.so.6
Rss:                   0 kB
Anonymous:             0 kB
VmFlags: rd ex mr mw me
7ffd00000000-7ffd00002000 r-xp 00000000 00:00 0 [vdso]
Rss:                   8 kB
Anonymous:             0 kB
VmFlags: rd ex mr mw me de
`

func TestParseSmaps(t *testing.T) {
	t.Parallel()

	maps, err := parseSmaps(strings.NewReader(sampleSmaps))
	if err != nil {
		t.Fatalf("parseSmaps: %v", err)
	}
	want := []struct {
		file       string
		rss        uint64
		releasable bool
	}{
		{"/opt/dermq/dermq", 6144 << 10, true},
		{"/opt/dermq/dermq", 4096 << 10, true},
		{"/opt/dermq/dermq", 300 << 10, false},
		{"/opt/my libs/libonnxruntime.so.1", 2048 << 10, true},
		{"/opt/my libs/libonnxruntime.so.1", 512 << 10, false},
		{"/usr/lib/libc.so.6", 1024 << 10, false},
		{"/dev/shm/segment", 1024 << 10, false},
		{"/usr/lib/libm.so.6", 0, false},
		{"[vdso]", 8 << 10, true},
	}
	if len(maps) != len(want) {
		t.Fatalf("parsed %d mappings, want %d", len(maps), len(want))
	}
	for i, w := range want {
		m := maps[i]
		if m.file() != w.file || m.rss != w.rss || m.releasable() != w.releasable {
			t.Errorf("mapping %d: file %q, rss %d, releasable %t; want %q, %d, %t",
				i, m.file(), m.rss, m.releasable(), w.file, w.rss, w.releasable)
		}
	}
	if maps[0].start != 0x400000 || maps[0].end != 0xc00000 {
		t.Errorf("first mapping spans %#x-%#x, want 0x400000-0xc00000",
			maps[0].start, maps[0].end)
	}
}

func TestParseSmapsRefusesAGarbledHeader(t *testing.T) {
	t.Parallel()

	if _, err := parseSmaps(strings.NewReader("zz-00c00000 r-xp 0 fd:01 1 /x\n")); err == nil {
		t.Fatalf("parseSmaps accepted a mapping that starts at zz")
	}
}
