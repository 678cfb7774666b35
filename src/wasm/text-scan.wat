;; The scans of terminal output over plain text, 16 bytes at a time with WebAssembly SIMD: the runs of plain
;; lines the screen mirror may skip, and the inside of the recording's JSON strings. text-scan.ts calls them;
;; scripts/text-scan-wasm.mjs compiles this into text-scan-wasm.ts.
(module
  (memory (export "memory") 1)
  ;; 0..127: the letter of each ASCII byte JSON escapes with a backslash and a letter (0: none);
  ;; 128..143: hexadecimal digits. Callers' bytes start at 1024 (text-scan.ts).
  (data (i32.const 8) "btn")
  (data (i32.const 12) "fr")
  (data (i32.const 34) "\22")
  (data (i32.const 92) "\5c")
  (data (i32.const 128) "0123456789abcdef")

  ;; skip_plain: the line feeds counted and where the last line after one starts.
  (global $line_feeds (mut i32) (i32.const 0))
  (global $line_start (mut i32) (i32.const 0))
  ;; escape: where a UTF-8 character cut by the end starts (the end if none).
  (global $carry (export "carry") (mut i32) (i32.const 0))

  ;; Where the UTF-8 sequence led by the byte at $at ends, bytes up to $end: 0 if they end before it could,
  ;; minus where the bytes that make a broken sequence end if it is invalid (callers tell the two apart by
  ;; sign: addresses stay below 2 GiB, as the callers' inputs are a few MiB). With $no_c1, U+0080..U+009F
  ;; (C1 controls to a terminal) count as invalid.
  (func $utf8_end (param $at i32) (param $end i32) (param $no_c1 i32) (result i32)
    (local $lead i32) (local $size i32) (local $low i32) (local $high i32) (local $k i32) (local $next i32)
    (local.set $lead (i32.load8_u (local.get $at)))
    (if (i32.lt_u (i32.sub (local.get $lead) (i32.const 0xc2)) (i32.const 30))
      (then (local.set $size (i32.const 2)))
      (else (if (i32.lt_u (i32.sub (local.get $lead) (i32.const 0xe0)) (i32.const 16))
        (then (local.set $size (i32.const 3)))
        (else (if (i32.lt_u (i32.sub (local.get $lead) (i32.const 0xf0)) (i32.const 5))
          (then (local.set $size (i32.const 4)))
          (else (return (i32.sub (i32.const 0) (i32.add (local.get $at) (i32.const 1))))))))))
    (local.set $low (i32.const 0x80))
    (local.set $high (i32.const 0xbf))
    (if (i32.eq (local.get $lead) (i32.const 0xe0)) (then (local.set $low (i32.const 0xa0))))
    (if (i32.eq (local.get $lead) (i32.const 0xf0)) (then (local.set $low (i32.const 0x90))))
    (if (i32.and (local.get $no_c1) (i32.eq (local.get $lead) (i32.const 0xc2))) (then (local.set $low (i32.const 0xa0))))
    (if (i32.eq (local.get $lead) (i32.const 0xed)) (then (local.set $high (i32.const 0x9f))))
    (if (i32.eq (local.get $lead) (i32.const 0xf4)) (then (local.set $high (i32.const 0x8f))))
    (local.set $k (i32.const 1))
    (loop $bytes
      (if (i32.ge_u (i32.add (local.get $at) (local.get $k)) (local.get $end)) (then (return (i32.const 0))))
      (local.set $next (i32.load8_u (i32.add (local.get $at) (local.get $k))))
      (if (i32.or (i32.lt_u (local.get $next) (local.get $low)) (i32.gt_u (local.get $next) (local.get $high)))
        (then (return (i32.sub (i32.const 0) (i32.add (local.get $at) (local.get $k))))))
      (local.set $low (i32.const 0x80))
      (local.set $high (i32.const 0xbf))
      (local.set $k (i32.add (local.get $k) (i32.const 1)))
      (br_if $bytes (i32.lt_u (local.get $k) (local.get $size))))
    (i32.add (local.get $at) (local.get $size)))

  ;; Counts the line feeds among the bytes at $at whose bits are set in $bits (a 16-bit mask).
  (func $count_line_feeds (param $at i32) (param $bits i32)
    (if (local.get $bits)
      (then
        (global.set $line_feeds (i32.add (global.get $line_feeds) (i32.popcnt (local.get $bits))))
        (global.set $line_start (i32.add (local.get $at) (i32.sub (i32.const 32) (i32.clz (local.get $bits))))))))

  ;; From $p, past plain text (printable ASCII and DEL, tab, backspace, carriage return, line feed; valid
  ;; UTF-8 that encodes no C1 control), up to $end: returns where it stops (a byte that is not plain, a
  ;; character cut by the end, or $end). Adds the line feeds passed to line_feeds, and sets line_start
  ;; after the last of them.
  (func $skip_plain (param $p i32) (param $end i32) (result i32)
    (local $v v128) (local $bad v128) (local $lf v128) (local $n i32) (local $b i32) (local $e i32)
    (loop $scan
      (if (i32.le_u (i32.add (local.get $p) (i32.const 16)) (local.get $end))
        (then
          (local.set $v (v128.load (local.get $p)))
          (local.set $lf (i8x16.eq (local.get $v) (i8x16.splat (i32.const 0x0a))))
          ;; Below 0x20 (or 0x80 and above: negative as signed bytes), but for the four plain controls.
          (local.set $bad
            (v128.andnot
              (i8x16.lt_s (local.get $v) (i8x16.splat (i32.const 0x20)))
              (v128.or
                (v128.or (local.get $lf) (i8x16.eq (local.get $v) (i8x16.splat (i32.const 0x0d))))
                (v128.or (i8x16.eq (local.get $v) (i8x16.splat (i32.const 0x09))) (i8x16.eq (local.get $v) (i8x16.splat (i32.const 0x08)))))))
          (if (i32.eqz (v128.any_true (local.get $bad)))
            (then
              (call $count_line_feeds (local.get $p) (i8x16.bitmask (local.get $lf)))
              (local.set $p (i32.add (local.get $p) (i32.const 16)))
              (br $scan)))
          (local.set $n (i32.ctz (i8x16.bitmask (local.get $bad))))
          (call $count_line_feeds (local.get $p)
            (i32.and (i8x16.bitmask (local.get $lf)) (i32.sub (i32.shl (i32.const 1) (local.get $n)) (i32.const 1))))
          (local.set $p (i32.add (local.get $p) (local.get $n)))
          ;; A control: not plain. UTF-8: passed if valid.
          (if (i32.lt_u (i32.load8_u (local.get $p)) (i32.const 0x80)) (then (return (local.get $p))))
          (local.set $e (call $utf8_end (local.get $p) (local.get $end) (i32.const 1)))
          (if (i32.le_s (local.get $e) (i32.const 0)) (then (return (local.get $p))))
          (local.set $p (local.get $e))
          (br $scan)))
      ;; The last 15 bytes or fewer, one at a time.
      (if (i32.ge_u (local.get $p) (local.get $end)) (then (return (local.get $p))))
      (local.set $b (i32.load8_u (local.get $p)))
      (if (i32.eq (local.get $b) (i32.const 0x0a))
        (then
          (global.set $line_feeds (i32.add (global.get $line_feeds) (i32.const 1)))
          (local.set $p (i32.add (local.get $p) (i32.const 1)))
          (global.set $line_start (local.get $p))
          (br $scan)))
      (if (i32.or
            (i32.lt_u (i32.sub (local.get $b) (i32.const 0x20)) (i32.const 0x60))
            (i32.or
              (i32.eq (local.get $b) (i32.const 0x0d))
              (i32.lt_u (i32.sub (local.get $b) (i32.const 0x08)) (i32.const 2))))
        (then
          (local.set $p (i32.add (local.get $p) (i32.const 1)))
          (br $scan)))
      (if (i32.lt_u (local.get $b) (i32.const 0x80)) (then (return (local.get $p))))
      (local.set $e (call $utf8_end (local.get $p) (local.get $end) (i32.const 1)))
      (if (i32.le_s (local.get $e) (i32.const 0)) (then (return (local.get $p))))
      (local.set $p (local.get $e))
      (br $scan))
    (local.get $p))

  ;; Where the first line feed at or after $p, before $end, is; $end if there is none.
  (func $line_feed (param $p i32) (param $end i32) (result i32)
    (local $bits i32)
    (loop $scan
      (if (i32.le_u (i32.add (local.get $p) (i32.const 16)) (local.get $end))
        (then
          (local.set $bits (i8x16.bitmask (i8x16.eq (v128.load (local.get $p)) (i8x16.splat (i32.const 0x0a)))))
          (if (local.get $bits) (then (return (i32.add (local.get $p) (i32.ctz (local.get $bits))))))
          (local.set $p (i32.add (local.get $p) (i32.const 16)))
          (br $scan))))
    (loop $bytes
      (if (i32.ge_u (local.get $p) (local.get $end)) (then (return (local.get $end))))
      (if (i32.eq (i32.load8_u (local.get $p)) (i32.const 0x0a)) (then (return (local.get $p))))
      (local.set $p (i32.add (local.get $p) (i32.const 1)))
      (br $bytes))
    (local.get $end))

  ;; The runs of plain lines in [$p, $end) (skippable-output.ts): a run starts at $p or after a line feed, and
  ;; ends before the line of a byte that is not plain. Writes, from $out, three numbers per run that holds more
  ;; than $keep line feeds (where it starts, where its last line starts, its line feeds), then three for the
  ;; run that reaches $end (the end, twice, and 0 if the last line is not plain). Returns how many runs.
  (func (export "plain_runs") (param $p i32) (param $end i32) (param $keep i32) (param $out i32) (result i32)
    (local $stop i32) (local $count i32) (local $next i32)
    (loop $runs
      (global.set $line_feeds (i32.const 0))
      (global.set $line_start (local.get $p))
      (local.set $stop (call $skip_plain (local.get $p) (local.get $end)))
      (if (i32.or (i32.ge_u (local.get $stop) (local.get $end)) (i32.gt_u (global.get $line_feeds) (local.get $keep)))
        (then
          (i32.store (local.get $out) (local.get $p))
          (i32.store offset=4 (local.get $out) (global.get $line_start))
          (i32.store offset=8 (local.get $out) (global.get $line_feeds))
          (local.set $out (i32.add (local.get $out) (i32.const 12)))
          (local.set $count (i32.add (local.get $count) (i32.const 1)))))
      (if (i32.ge_u (local.get $stop) (local.get $end)) (then (return (local.get $count))))
      (local.set $next (call $line_feed (local.get $stop) (local.get $end)))
      (if (i32.ge_u (local.get $next) (local.get $end))
        (then
          (i32.store (local.get $out) (local.get $end))
          (i32.store offset=4 (local.get $out) (local.get $end))
          (i32.store offset=8 (local.get $out) (i32.const 0))
          (return (i32.add (local.get $count) (i32.const 1)))))
      (local.set $p (i32.add (local.get $next) (i32.const 1)))
      (br $runs))
    (local.get $count))

  ;; Writes the bytes [$p, $end) at $o as the inside of a JSON string: printable ASCII as it is, controls,
  ;; quote and backslash escaped, valid UTF-8 as it is, and what is not valid UTF-8 as U+FFFD (the longest
  ;; valid start of a broken sequence, or a lone byte, as one). A character cut by the end is left for the
  ;; next call (carry says where it starts) unless $final, when it is one U+FFFD. Returns where the output
  ;; ends; writes up to 16 bytes past it.
  (func (export "escape") (param $p i32) (param $end i32) (param $o i32) (param $final i32) (result i32)
    (local $v v128) (local $special v128) (local $mask i32) (local $n i32) (local $at i32) (local $b i32) (local $e i32) (local $letter i32)
    (global.set $carry (local.get $end))
    (loop $scan
      (if (i32.le_u (i32.add (local.get $p) (i32.const 16)) (local.get $end))
        (then
          (local.set $v (v128.load (local.get $p)))
          (v128.store (local.get $o) (local.get $v))
          (local.set $special
            (v128.or
              (i8x16.lt_s (local.get $v) (i8x16.splat (i32.const 0x20)))
              (v128.or (i8x16.eq (local.get $v) (i8x16.splat (i32.const 0x22))) (i8x16.eq (local.get $v) (i8x16.splat (i32.const 0x5c))))))
          (local.set $mask (i8x16.bitmask (local.get $special)))
          ;; The block's ASCII specials escaped where they are, each followed by the rest of the block moved
          ;; along (the output for block byte k is at $o + k); a UTF-8 byte is left to the byte-wise path.
          (block $utf8
            (loop $specials
              (br_if $utf8 (i32.eqz (local.get $mask)))
              (local.set $n (i32.ctz (local.get $mask)))
              (local.set $b (i32.load8_u (i32.add (local.get $p) (local.get $n))))
              (br_if $utf8 (i32.ge_u (local.get $b) (i32.const 0x80)))
              (local.set $at (i32.add (local.get $o) (local.get $n)))
              (i32.store8 (local.get $at) (i32.const 0x5c))
              (local.set $letter (i32.load8_u (local.get $b)))
              (if (local.get $letter)
                (then
                  (i32.store8 offset=1 (local.get $at) (local.get $letter))
                  (local.set $o (i32.add (local.get $o) (i32.const 1))))
                (else
                  (i32.store8 offset=1 (local.get $at) (i32.const 0x75))
                  (i32.store8 offset=2 (local.get $at) (i32.const 0x30))
                  (i32.store8 offset=3 (local.get $at) (i32.const 0x30))
                  (i32.store8 offset=4 (local.get $at) (i32.load8_u offset=128 (i32.shr_u (local.get $b) (i32.const 4))))
                  (i32.store8 offset=5 (local.get $at) (i32.load8_u offset=128 (i32.and (local.get $b) (i32.const 15))))
                  (local.set $o (i32.add (local.get $o) (i32.const 5)))))
              (v128.store (i32.add (i32.add (local.get $o) (local.get $n)) (i32.const 1))
                (i8x16.swizzle (local.get $v)
                  (i8x16.add (v128.const i8x16 0 1 2 3 4 5 6 7 8 9 10 11 12 13 14 15) (i8x16.splat (i32.add (local.get $n) (i32.const 1))))))
              (local.set $mask (i32.and (local.get $mask) (i32.sub (local.get $mask) (i32.const 1))))
              (br $specials)))
          (if (i32.eqz (local.get $mask))
            (then
              (local.set $p (i32.add (local.get $p) (i32.const 16)))
              (local.set $o (i32.add (local.get $o) (i32.const 16)))
              (br $scan)))
          (local.set $p (i32.add (local.get $p) (local.get $n)))
          (local.set $o (i32.add (local.get $o) (local.get $n)))))
      (if (i32.ge_u (local.get $p) (local.get $end)) (then (return (local.get $o))))
      (local.set $b (i32.load8_u (local.get $p)))
      (if (i32.lt_u (local.get $b) (i32.const 0x80))
        (then
          (local.set $p (i32.add (local.get $p) (i32.const 1)))
          (if (i32.and (i32.ge_u (local.get $b) (i32.const 0x20)) (i32.and (i32.ne (local.get $b) (i32.const 0x22)) (i32.ne (local.get $b) (i32.const 0x5c))))
            (then
              (i32.store8 (local.get $o) (local.get $b))
              (local.set $o (i32.add (local.get $o) (i32.const 1)))
              (br $scan)))
          (i32.store8 (local.get $o) (i32.const 0x5c))
          (local.set $letter (i32.load8_u (local.get $b)))
          (if (local.get $letter)
            (then
              (i32.store8 offset=1 (local.get $o) (local.get $letter))
              (local.set $o (i32.add (local.get $o) (i32.const 2)))
              (br $scan)))
          ;; \u00XX
          (i32.store8 offset=1 (local.get $o) (i32.const 0x75))
          (i32.store8 offset=2 (local.get $o) (i32.const 0x30))
          (i32.store8 offset=3 (local.get $o) (i32.const 0x30))
          (i32.store8 offset=4 (local.get $o) (i32.load8_u offset=128 (i32.shr_u (local.get $b) (i32.const 4))))
          (i32.store8 offset=5 (local.get $o) (i32.load8_u offset=128 (i32.and (local.get $b) (i32.const 15))))
          (local.set $o (i32.add (local.get $o) (i32.const 6)))
          (br $scan)))
      (local.set $e (call $utf8_end (local.get $p) (local.get $end) (i32.const 0)))
      (if (i32.gt_s (local.get $e) (i32.const 0))
        (then
          ;; Valid: 2 to 4 bytes, copied.
          (loop $copy
            (i32.store8 (local.get $o) (i32.load8_u (local.get $p)))
            (local.set $o (i32.add (local.get $o) (i32.const 1)))
            (local.set $p (i32.add (local.get $p) (i32.const 1)))
            (br_if $copy (i32.lt_u (local.get $p) (local.get $e))))
          (br $scan)))
      (if (i32.and (i32.eqz (local.get $e)) (i32.eqz (local.get $final)))
        (then
          (global.set $carry (local.get $p))
          (return (local.get $o))))
      ;; U+FFFD, then on from the byte that broke the sequence (or the end, for one cut short).
      (i32.store8 (local.get $o) (i32.const 0xef))
      (i32.store8 offset=1 (local.get $o) (i32.const 0xbf))
      (i32.store8 offset=2 (local.get $o) (i32.const 0xbd))
      (local.set $o (i32.add (local.get $o) (i32.const 3)))
      (if (i32.eqz (local.get $e))
        (then (return (local.get $o))))
      (local.set $p (i32.sub (i32.const 0) (local.get $e)))
      (br $scan))
    (local.get $o))
)
