"""MagicVideo Shapes: the synthetic video-text set the project trains on, and the judge that scores clips.

grammar (captions and their parsing), heldout (combinations kept out of training), render
(anti-aliased frames from a scene), clips (training examples per paper §3.1.3), shards and
generate (writing data sets to disk), judge (deciding what a clip shows). DESIGN.md §7.
"""
