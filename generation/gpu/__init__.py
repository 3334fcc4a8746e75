"""The local GPU: the diffusers models a gpu worker runs, in one package. torch, torchao,
diffusers and transformers are imported here only, and only when a worker renders.

- ``backends``: the clip backends (Wan, LTX-Video) as the site declares them;
- ``keyframes``: the keyframe model (FLUX.2 [klein]);
- ``readiness``: whether this machine can run them (weights, device, settings), torch-free;
- ``status``: what a worker publishes of that, for web processes elsewhere;
- ``warm`` and ``pipelines``: the pipelines a worker keeps loaded, and their GPU memory;
- ``speed``: the speed-ups applied when a pipeline loads;
- ``render`` and ``draw``: a clip, and a keyframe.

Products never import this package: they reach a GPU backend through ``generation.registry``
and the ``ClipBackend`` interface (``ready_problem``, ``drawing_problem``).
"""
