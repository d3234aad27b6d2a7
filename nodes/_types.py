"""Names of the pack's custom ComfyUI types. Links type-check by string equality, so these strings are an API."""

POSE = "CHOREO_POSE"  # core.pose.sequence.PoseSequence
CHARACTERS = "CHOREO_CHARACTERS"
FACE_EMBEDS = "CHOREO_FACE_EMBEDS"
SCENE = "CHOREO_SCENE"
VIDEO_INFO = "CHOREO_VIDEO_INFO"  # plain dict, same keys as VideoHelperSuite's VHS_VIDEOINFO
IDENTITY_MAP = "CHOREO_IDENTITY_MAP"  # core.conditioning.identity.IdentityMap
MASKS = "CHOREO_MASKS"  # core.render.masks.IdentityMasks
BINDING_SLOTS = "CHOREO_BINDING_SLOTS"  # core.conditioning.binding_slots.BindingSlots
WAN_MODELS = "CHOREO_WAN_MODELS"  # core.models.wan_loader.WanModels (transformer + VAE codec)
WAN_PROMPT = "CHOREO_WAN_PROMPT"  # core.sampling.wan_prompt.WanPrompt
DANCE_TOGETHER_MODEL = "CHOREO_DANCE_TOGETHER_MODEL"  # core.models.stable_animator.loader.DanceTogetherModel
ANIMATE_ANYONE_MODEL = "CHOREO_ANIMATE_ANYONE_MODEL"  # core.models.animate_anyone.loader.AnimateAnyoneModels
REFERENCE_BANK = "CHOREO_REFERENCE_BANK"  # core.sampling.animate_anyone.ReferenceEncoding
