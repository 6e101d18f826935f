"""AI services: provider, local model server, recommendation, describe, codegen, review.

Importing this package imports nothing heavy; every module loads ``openai``,
``onnxruntime`` or ``xllamacpp`` only inside the functions that need them.
"""
