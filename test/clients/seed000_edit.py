import requests
import base64

API_KEY = "zk_live_abc123..."
BASE_URL = "https://api.zekron.codes"

# Read image file and convert to base64
with open("original.jpg", "rb") as f:
    image_base64 = base64.b64encode(f.read()).decode()

headers = {
    "Authorization": f"Bearer {API_KEY}",
    "Content-Type": "application/json"
}

# Edit image
response = requests.post(
    f"{BASE_URL}/v1/generate",
    headers=headers,
    json={
        "prompt": "Make it look like winter with snow",
        "images": [
            {
                "data": image_base64,
                "mime_type": "image/jpeg"
            }
        ],
        "size": "1024x1024"
    }
)

data = response.json()
if data["success"]:
    image_data = base64.b64decode(data["data"]["image"]["b64_json"])
    with open("winter_version.png", "wb") as f:
        f.write(image_data)
