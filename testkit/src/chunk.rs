//! Chunking: how a byte stream is cut into reads. A decoder must produce
//! the same frames whatever the read sizes; these helpers make the sizes
//! the variable of a test.

/// Random read sizes (cycled by [`split`]); 0 stands for an empty read.
#[cfg(feature = "proptest")]
pub fn read_sizes() -> impl proptest::strategy::Strategy<Value = Vec<usize>> {
    proptest::collection::vec(0usize..24, 1..12)
}

/// Cuts `stream` into reads of the given sizes, cycled. A size of 0 is an
/// empty read (decoders must cope); it never repeats, so splitting ends.
///
/// ```
/// assert_eq!(
///     proto_testkit::chunk::split(b"abcdef", &[2, 0, 3]),
///     [&b"ab"[..], b"", b"cde", b"f"]
/// );
/// ```
pub fn split<'a>(mut stream: &'a [u8], sizes: &[usize]) -> Vec<&'a [u8]> {
    let mut chunks = Vec::new();
    let mut sizes = sizes.iter().copied().cycle();
    let mut last_empty = false;
    while !stream.is_empty() {
        let size = sizes.next().unwrap_or(1);
        let size = if size == 0 && !last_empty {
            0
        } else {
            size.clamp(1, stream.len())
        };
        let (chunk, rest) = stream.split_at(size);
        chunks.push(chunk);
        last_empty = size == 0;
        stream = rest;
    }
    chunks
}

/// The three chunkings every property is checked under: one byte per read,
/// random reads (`sizes`, cycled), and the whole stream in one read.
pub fn chunkings<'a>(stream: &'a [u8], sizes: &[usize]) -> [(&'static str, Vec<&'a [u8]>); 3] {
    [
        ("1-byte reads", stream.chunks(1).collect()),
        ("random reads", split(stream, sizes)),
        ("one read", vec![stream]),
    ]
}
