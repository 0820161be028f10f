"""The model kit: builds the model store the engine runs (``pinchpoint models build|verify``).

A tool, not part of the running system: it converts dlib's ResNet to ONNX
(:mod:`modelkit.dlib_resnet`), rewrites the CenterFace detector and copies the pinned 5-point
landmarker (:mod:`modelkit.build`), and can check the conversion against dlib itself
(:mod:`modelkit.dlib_reference`). ``pinchpoint run`` only reads and verifies the store
(:mod:`adapters.engine.model_store`); it never imports this package.
"""
