#ifndef CBARE_H
#define CBARE_H

#include <stddef.h>

/// The bare C library calls behind each Kafka codec, one whole chunk per call, with the
/// settings Tributary's `Compression` target uses by default:
/// - 0 none:   memcpy (the floor of any encoder: touching the bytes once);
/// - 1 gzip:   zlib deflate level 6 (Z_DEFAULT_COMPRESSION), gzip framing (windowBits 31), one
///             deflate(Z_FINISH); inflate(Z_FINISH) into a buffer of the known size;
/// - 2 snappy: snappy_compress / snappy_uncompress on the whole chunk;
/// - 3 lz4:    LZ4F_compressFrame, level 0, 64 KiB independent blocks, content size, no checksums
///             (the frame settings of LZ4FrameCompressor); LZ4F_decompress with a reused context;
/// - 4 zstd:   ZSTD_compressCCtx level 3 (ZSTD_defaultCLevel) / ZSTD_decompressDCtx, reused contexts.
typedef struct cbare_codec cbare_codec;

/// A codec by Kafka codec id (0...4), or NULL for an unknown id or a failed set-up.
cbare_codec *cbare_codec_create(int kafka_codec_id);
void cbare_codec_free(cbare_codec *codec);

/// Worst-case compressed size of `length` input bytes.
size_t cbare_compress_bound(cbare_codec *codec, size_t length);

/// Compresses `src` into `dst`; returns the compressed size, or 0 on failure.
size_t cbare_compress(cbare_codec *codec, void *dst, size_t capacity, const void *src, size_t length);

/// Decompresses `src` into `dst`; returns the decompressed size, or (size_t)-1 on failure.
size_t cbare_decompress(cbare_codec *codec, void *dst, size_t capacity, const void *src, size_t length);

#endif
